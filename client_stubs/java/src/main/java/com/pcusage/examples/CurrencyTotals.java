package com.pcusage.examples;

import com.pcusage.client.Decimals;
import com.pcusage.partnercenter.usage.v1.CustomerMonthlyUsageRecord;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per-currency record counts and exact sums of {@code total_cost}, printed in the format every pcusage client's
 * example shares, so their outputs compare byte for byte.
 */
public final class CurrencyTotals {
  /** Orders keys by their UTF-8 bytes, as the shared format requires (String.compareTo orders UTF-16 units). */
  private static final Comparator<String> UTF8_ORDER =
      (a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  /** A group's record count and exact sum. */
  private static final class Group {
    long records;
    BigDecimal total = BigDecimal.ZERO;
  }

  private final Map<String, Group> groups = new TreeMap<>(UTF8_ORDER);

  /**
   * The group of a record: its currency code, else {@code locale:<currency_locale>}, else {@code unknown}.
   */
  public static String groupKey(CustomerMonthlyUsageRecord record) {
    if (!record.getCurrencyCode().isEmpty()) {
      return record.getCurrencyCode();
    }
    if (!record.getCurrencyLocale().isEmpty()) {
      return "locale:" + record.getCurrencyLocale();
    }
    return "unknown";
  }

  /** Counts {@code record} in its group and adds its {@code total_cost}, when set, exactly. */
  public void add(CustomerMonthlyUsageRecord record) {
    Group group = groups.computeIfAbsent(groupKey(record), key -> new Group());
    group.records++;
    Decimals.totalCost(record).ifPresent(cost -> group.total = group.total.add(cost));
  }

  /**
   * A sum as plain decimal text: no exponent, trailing fractional zeros and point dropped, "0" for any zero.
   * E.g. 1.50 + 2.5E+1 is "26.5".
   */
  public static String format(BigDecimal total) {
    if (total.signum() == 0) {
      return "0"; // BigDecimal has no negative zero, but 0.00 and 0E+3 must both print "0"
    }
    return total.stripTrailingZeros().toPlainString();
  }

  /** One line per group, sorted by key: {@code <key>\t<records>\t<total>\n}. */
  public String render() {
    StringBuilder text = new StringBuilder();
    groups.forEach(
        (key, group) ->
            text.append(key).append('\t').append(group.records).append('\t').append(format(group.total)).append('\n'));
    return text.toString();
  }
}
