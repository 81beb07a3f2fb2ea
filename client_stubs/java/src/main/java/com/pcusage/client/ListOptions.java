package com.pcusage.client;

import com.pcusage.partnercenter.usage.v1.ListUsageRecordsRequest;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * What a {@code ListUsageRecords} call asks for besides its deadline: the filters (docs/api.md, "Filters"), how old a
 * shared snapshot may be, and the batch size. Immutable; made with {@link #builder()}; the default asks for every
 * record, as {@link UsageRecordsClient#listUsageRecords(Duration)} does.
 *
 * <pre>{@code
 * ListOptions options = ListOptions.builder()
 *     .customerIds("00000000-c0de-4000-8000-000000000000", "78dde6c4-c0de-4004-8000-000000000004")
 *     .currencyCodes("USD", "EUR")
 *     .minPercentUsed(new BigDecimal("80"))   // compared exactly with percent_used: 79.99999999999999999999 fails
 *     .onlyWithBudget(true)
 *     .build();
 * try (UsageRecordStream records = client.listUsageRecords(options, Duration.ofMinutes(2))) { ... }
 * }</pre>
 *
 * <p>The server applies the filters to the records it translated (Partner Center's list has no such parameters), so
 * a filtered call costs Partner Center no more than an unfiltered one; every filter set must pass, and a list passes
 * when any of its entries matches. The values are not checked here: the server refuses a customer id that is not a
 * GUID, a currency code that is not three ASCII letters, or more than 10000 entries with {@code INVALID_ARGUMENT}
 * naming the field ({@code customer_ids[2]}), which {@link ErrorDetails#from} reads.
 */
public final class ListOptions {
  private final List<String> customerIds;
  private final List<String> currencyCodes;
  private final BigDecimal minPercentUsed;
  private final boolean onlyWithBudget;
  private final Duration maxStaleness;
  private final int pageSize;

  private ListOptions(Builder builder) {
    this.customerIds = builder.customerIds;
    this.currencyCodes = builder.currencyCodes;
    this.minPercentUsed = builder.minPercentUsed;
    this.onlyWithBudget = builder.onlyWithBudget;
    this.maxStaleness = builder.maxStaleness;
    this.pageSize = builder.pageSize;
  }

  /** Options to fill in; {@link Builder#build()} makes them. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options, to change some of them. */
  public Builder toBuilder() {
    Builder builder = new Builder();
    builder.customerIds = customerIds;
    builder.currencyCodes = currencyCodes;
    builder.minPercentUsed = minPercentUsed;
    builder.onlyWithBudget = onlyWithBudget;
    builder.maxStaleness = maxStaleness;
    builder.pageSize = pageSize;
    return builder;
  }

  /** The customers (tenant ids) to list; empty means every customer. */
  public List<String> customerIds() {
    return customerIds;
  }

  /** The currencies (ISO 4217 codes) to list; empty means every currency. */
  public List<String> currencyCodes() {
    return currencyCodes;
  }

  /** The least {@code percent_used} a record must have; empty means no such filter. */
  public Optional<BigDecimal> minPercentUsed() {
    return Optional.ofNullable(minPercentUsed);
  }

  /** Whether only records whose budget has an amount are listed. */
  public boolean onlyWithBudget() {
    return onlyWithBudget;
  }

  /** How old a shared snapshot may be; empty leaves it to the server (5 minutes by default). */
  public Optional<Duration> maxStaleness() {
    return Optional.ofNullable(maxStaleness);
  }

  /** The most records per response message; 0 means the server's default. */
  public int pageSize() {
    return pageSize;
  }

  /**
   * The request these options make. {@code min_percent_used} is {@link Decimals#fromBigDecimal} of the value, so it
   * keeps every digit ({@code 79.99999999999999999999} stays below 80).
   */
  public ListUsageRecordsRequest toRequest() {
    ListUsageRecordsRequest.Builder request =
        ListUsageRecordsRequest.newBuilder()
            .addAllCustomerIds(customerIds)
            .addAllCurrencyCodes(currencyCodes)
            .setOnlyWithBudget(onlyWithBudget)
            .setPageSize(pageSize);
    if (minPercentUsed != null) {
      request.setMinPercentUsed(Decimals.fromBigDecimal(minPercentUsed));
    }
    if (maxStaleness != null) {
      request.setMaxStaleness(UsageRecordsClient.toProto(maxStaleness));
    }
    return request.build();
  }

  @Override
  public String toString() {
    return "ListOptions{customerIds="
        + customerIds
        + ", currencyCodes="
        + currencyCodes
        + ", minPercentUsed="
        + minPercentUsed
        + ", onlyWithBudget="
        + onlyWithBudget
        + ", maxStaleness="
        + maxStaleness
        + ", pageSize="
        + pageSize
        + "}";
  }

  /** Fills in {@link ListOptions}. Each setter replaces what an earlier call of it set. */
  public static final class Builder {
    private List<String> customerIds = List.of();
    private List<String> currencyCodes = List.of();
    private BigDecimal minPercentUsed;
    private boolean onlyWithBudget;
    private Duration maxStaleness;
    private int pageSize;

    private Builder() {}

    /**
     * Only the records of these customers: Partner Center's {@code resourceId} (the tenant id, a GUID), compared
     * without regard to case. None: every customer.
     */
    public Builder customerIds(String... ids) {
      return customerIds(List.of(ids));
    }

    /** As {@link #customerIds(String...)}. */
    public Builder customerIds(Collection<String> ids) {
      this.customerIds = List.copyOf(ids); // throws NullPointerException for a null entry
      return this;
    }

    /**
     * Only the records in these currencies: ISO 4217 codes such as {@code "EUR"}, compared with the record's {@code
     * currency_code} without regard to case. A record without a currency code (legacy offers) passes no currency
     * filter. None: every currency.
     */
    public Builder currencyCodes(String... codes) {
      return currencyCodes(List.of(codes));
    }

    /** As {@link #currencyCodes(String...)}. */
    public Builder currencyCodes(Collection<String> codes) {
      this.currencyCodes = List.copyOf(codes);
      return this;
    }

    /**
     * Only the records whose {@code percent_used} is at least {@code percent} ({@code 80} passes 80, 80.0 and 602.84,
     * not 79.99999999999999999999), compared exactly by the server; a record without {@code percent_used} does not
     * pass. Sent as {@link Decimals#fromBigDecimal}{@code (percent)}, every digit kept. Null: no such filter.
     */
    public Builder minPercentUsed(BigDecimal percent) {
      this.minPercentUsed = percent;
      return this;
    }

    /**
     * Only the records whose {@code budget} has an amount (a budget without an amount means the customer has none
     * set). False (the default): no such filter.
     */
    public Builder onlyWithBudget(boolean onlyWithBudget) {
      this.onlyWithBudget = onlyWithBudget;
      return this;
    }

    /**
     * How old a shared snapshot may be and still serve the call; {@link Duration#ZERO} asks for a fresh walk. Null
     * (the default) leaves it to the server. Negative: the server answers {@code INVALID_ARGUMENT}.
     */
    public Builder maxStaleness(Duration maxStaleness) {
      this.maxStaleness = maxStaleness;
      return this;
    }

    /**
     * The most records one response message carries; 0 (the default) means the server's (100), above 1000 counts
     * as 1000. Shapes messages only, not what is listed.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder pageSize(int pageSize) {
      if (pageSize < 0) {
        throw new IllegalArgumentException("pageSize must not be negative: " + pageSize);
      }
      this.pageSize = pageSize;
      return this;
    }

    /** The options. */
    public ListOptions build() {
      return new ListOptions(this);
    }
  }
}
