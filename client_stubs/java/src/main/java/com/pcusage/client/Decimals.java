package com.pcusage.client;

import com.google.type.Decimal;
import com.pcusage.partnercenter.usage.v1.CustomerMonthlyUsageRecord;
import com.pcusage.partnercenter.usage.v1.SpendingBudget;
import java.math.BigDecimal;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Exact conversions between {@code google.type.Decimal} and {@link BigDecimal}.
 *
 * <p>pcusage sends Partner Center's money values as the decimal text Partner Center wrote ({@code
 * "120.5682999999995904716"}, {@code "1.5E+2"}, {@code "-0.0"}); {@link BigDecimal} keeps every digit and the scale.
 * Never go through {@code double}. The record accessors return {@link Optional#empty()} when a field is unset, which
 * pcusage keeps distinct from zero.
 */
public final class Decimals {
  /** The syntax {@code google.type.Decimal} allows: ASCII digits, one optional point, an optional exponent. */
  private static final Pattern DECIMAL =
      Pattern.compile("[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?");

  private Decimals() {}

  /**
   * The exact value of {@code decimal}.
   *
   * @throws NumberFormatException if its value is not a decimal number (e.g. empty, {@code "NaN"}, or an exponent
   *     outside {@link BigDecimal}'s range)
   */
  public static BigDecimal toBigDecimal(Decimal decimal) {
    String value = Objects.requireNonNull(decimal, "decimal").getValue();
    if (!DECIMAL.matcher(value).matches()) {
      throw new NumberFormatException("not a google.type.Decimal value: \"" + value + "\"");
    }
    return new BigDecimal(value);
  }

  /** {@code value} as a {@code google.type.Decimal}, digits and scale kept (e.g. {@code 1.50}, {@code 1E+3}). */
  public static Decimal fromBigDecimal(BigDecimal value) {
    return Decimal.newBuilder().setValue(value.toString()).build();
  }

  /** The record's {@code total_cost}, or empty when Partner Center sent none. */
  public static Optional<BigDecimal> totalCost(CustomerMonthlyUsageRecord record) {
    return record.hasTotalCost() ? Optional.of(toBigDecimal(record.getTotalCost())) : Optional.empty();
  }

  /** The record's {@code usd_total_cost}, or empty when Partner Center sent none. */
  public static Optional<BigDecimal> usdTotalCost(CustomerMonthlyUsageRecord record) {
    return record.hasUsdTotalCost() ? Optional.of(toBigDecimal(record.getUsdTotalCost())) : Optional.empty();
  }

  /** The record's {@code percent_used} (602.84 means 602.84 %), or empty when Partner Center sent none. */
  public static Optional<BigDecimal> percentUsed(CustomerMonthlyUsageRecord record) {
    return record.hasPercentUsed() ? Optional.of(toBigDecimal(record.getPercentUsed())) : Optional.empty();
  }

  /**
   * The budget's amount, or empty when no amount is set. Whether there is a budget at all is {@code
   * record.hasBudget()}.
   */
  public static Optional<BigDecimal> amount(SpendingBudget budget) {
    return budget.hasAmount() ? Optional.of(toBigDecimal(budget.getAmount())) : Optional.empty();
  }
}
