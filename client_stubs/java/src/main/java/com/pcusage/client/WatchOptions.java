package com.pcusage.client;

import com.pcusage.partnercenter.usage.v1.WatchBudgetsRequest;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link BudgetWatch} asks for: the thresholds, the customer and currency filters and the poll interval of
 * its {@code WatchBudgets} calls (docs/api.md, "Budget watch"), its deadline, and how it reconnects. Immutable; made
 * with {@link #builder()}.
 *
 * <pre>{@code
 * WatchOptions options = WatchOptions.builder()
 *     .thresholds(new BigDecimal("80"), new BigDecimal("100"))
 *     .pollInterval(Duration.ofMinutes(15))
 *     .build();
 * }</pre>
 *
 * <p>Reconnecting: by default a watch whose stream ends with {@code UNAVAILABLE} (the server draining, the connection
 * lost), with the server's {@code DEADLINE_EXCEEDED} (its {@code --max_watch_duration}, while the watch's own {@link
 * Builder#timeout} has not passed), or with {@code RESOURCE_EXHAUSTED} carrying a {@code RetryInfo} (the server's
 * stream limits; the wait is then at least its delay) starts a new stream after a backoff, at most {@link
 * #maxReconnects()} times
 * in a row; a stream that reaches {@code initial_state_complete} starts the count again. A new stream starts with the
 * level again (see {@link BudgetWatch}). {@code maxReconnects(0)} turns this off.
 */
public final class WatchOptions {
  /** Reconnects in a row allowed by default. */
  public static final int DEFAULT_MAX_RECONNECTS = 5;
  /** The wait before the first reconnect in a row, by default; it doubles with each further one. */
  public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofSeconds(1);
  /** The longest wait between reconnects, by default. */
  public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(30);

  private final List<BigDecimal> thresholds;
  private final List<String> customerIds;
  private final List<String> currencyCodes;
  private final Duration pollInterval;
  private final Duration timeout;
  private final int maxReconnects;
  private final Duration initialBackoff;
  private final Duration maxBackoff;

  private WatchOptions(Builder builder) {
    this.thresholds = builder.thresholds;
    this.customerIds = builder.customerIds;
    this.currencyCodes = builder.currencyCodes;
    this.pollInterval = builder.pollInterval;
    this.timeout = builder.timeout;
    this.maxReconnects = builder.maxReconnects;
    this.initialBackoff = builder.initialBackoff;
    this.maxBackoff = builder.maxBackoff;
  }

  /** Options to fill in; {@link Builder#build()} makes them. */
  public static Builder builder() {
    return new Builder();
  }

  /** The default options: thresholds 80 and 100 (the server's), every customer, a 15-minute poll, no deadline. */
  public static WatchOptions defaults() {
    return builder().build();
  }

  /** A builder holding these options, to change some of them. */
  public Builder toBuilder() {
    Builder builder = new Builder();
    builder.thresholds = thresholds;
    builder.customerIds = customerIds;
    builder.currencyCodes = currencyCodes;
    builder.pollInterval = pollInterval;
    builder.timeout = timeout;
    builder.maxReconnects = maxReconnects;
    builder.initialBackoff = initialBackoff;
    builder.maxBackoff = maxBackoff;
    return builder;
  }

  /** The thresholds in percent of budget; empty means the server's (80 and 100). */
  public List<BigDecimal> thresholds() {
    return thresholds;
  }

  /** The customers watched; empty means every customer. */
  public List<String> customerIds() {
    return customerIds;
  }

  /** The currencies watched; empty means every currency. */
  public List<String> currencyCodes() {
    return currencyCodes;
  }

  /** How often the server looks at the list; empty means its default (15 minutes). */
  public Optional<Duration> pollInterval() {
    return Optional.ofNullable(pollInterval);
  }

  /** The deadline of the whole watch, reconnects included, from its start; empty means none. */
  public Optional<Duration> timeout() {
    return Optional.ofNullable(timeout);
  }

  /** How many times in a row the watch may reconnect; 0 means never. */
  public int maxReconnects() {
    return maxReconnects;
  }

  /** The wait before the first reconnect in a row (it doubles with each further one, up to {@link #maxBackoff()}). */
  public Duration initialBackoff() {
    return initialBackoff;
  }

  /** The longest wait before a reconnect. */
  public Duration maxBackoff() {
    return maxBackoff;
  }

  /**
   * The request each stream of the watch sends. Every threshold is {@link Decimals#fromBigDecimal} of its value, so
   * it keeps its digits, and the server names it in events as spelled here ({@code 80.0} stays {@code "80.0"}).
   */
  public WatchBudgetsRequest toRequest() {
    WatchBudgetsRequest.Builder request =
        WatchBudgetsRequest.newBuilder().addAllCustomerIds(customerIds).addAllCurrencyCodes(currencyCodes);
    thresholds.forEach(threshold -> request.addThresholds(Decimals.fromBigDecimal(threshold)));
    if (pollInterval != null) {
      request.setPollInterval(UsageRecordsClient.toProto(pollInterval));
    }
    return request.build();
  }

  @Override
  public String toString() {
    return "WatchOptions{thresholds="
        + thresholds
        + ", customerIds="
        + customerIds
        + ", currencyCodes="
        + currencyCodes
        + ", pollInterval="
        + pollInterval
        + ", timeout="
        + timeout
        + ", maxReconnects="
        + maxReconnects
        + ", initialBackoff="
        + initialBackoff
        + ", maxBackoff="
        + maxBackoff
        + "}";
  }

  /** Fills in {@link WatchOptions}. Each setter replaces what an earlier call of it set. */
  public static final class Builder {
    private List<BigDecimal> thresholds = List.of();
    private List<String> customerIds = List.of();
    private List<String> currencyCodes = List.of();
    private Duration pollInterval;
    private Duration timeout;
    private int maxReconnects = DEFAULT_MAX_RECONNECTS;
    private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
    private Duration maxBackoff = DEFAULT_MAX_BACKOFF;

    private Builder() {}

    /**
     * The thresholds in percent of budget, compared exactly with each record's {@code percent_used} (a customer is at
     * a threshold when {@code percent_used >= threshold}; 80 is reached by 80 and 80.0, not by
     * 79.99999999999999999999). None: the server's, 80 and 100. At most 16 (the server refuses more with {@code
     * INVALID_ARGUMENT}); equal values count once.
     */
    public Builder thresholds(BigDecimal... thresholds) {
      return thresholds(List.of(thresholds));
    }

    /** As {@link #thresholds(BigDecimal...)}. */
    public Builder thresholds(Collection<BigDecimal> thresholds) {
      this.thresholds = List.copyOf(thresholds);
      return this;
    }

    /**
     * Only these customers (tenant ids, GUIDs, compared without regard to case); a customer that stops passing counts
     * as gone. None: every customer.
     */
    public Builder customerIds(String... ids) {
      return customerIds(List.of(ids));
    }

    /** As {@link #customerIds(String...)}. */
    public Builder customerIds(Collection<String> ids) {
      this.customerIds = List.copyOf(ids);
      return this;
    }

    /** Only records in these ISO 4217 currencies (compared without regard to case). None: every currency. */
    public Builder currencyCodes(String... codes) {
      return currencyCodes(List.of(codes));
    }

    /** As {@link #currencyCodes(String...)}. */
    public Builder currencyCodes(Collection<String> codes) {
      this.currencyCodes = List.copyOf(codes);
      return this;
    }

    /**
     * How often the server looks at the list (it reads a shared snapshot no older than this). Null (the default):
     * the server's, 15 minutes. Shorter than the server's {@code --min_watch_poll_interval} (5 minutes by default):
     * the stream fails with {@code INVALID_ARGUMENT}, which is not retried.
     */
    public Builder pollInterval(Duration pollInterval) {
      this.pollInterval = pollInterval;
      return this;
    }

    /**
     * The deadline of the whole watch from when it starts, reconnects included: past it {@link BudgetWatch#hasNext()}
     * throws {@code DEADLINE_EXCEEDED}. Null (the default): none; the watch runs until closed, cancelled, or ended
     * by an error it does not reconnect after.
     *
     * @throws IllegalArgumentException if zero or negative
     */
    public Builder timeout(Duration timeout) {
      if (timeout != null && (timeout.isZero() || timeout.isNegative())) {
        throw new IllegalArgumentException("timeout must be positive: " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /**
     * How many times in a row the watch may start a new stream after one ended with {@code UNAVAILABLE}, the
     * server's {@code DEADLINE_EXCEEDED} or a {@code RESOURCE_EXHAUSTED} with a {@code RetryInfo} ({@value
     * WatchOptions#DEFAULT_MAX_RECONNECTS} by default); 0: never, the first such error is thrown. A stream that
     * delivers {@code initial_state_complete} starts the count again.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder maxReconnects(int maxReconnects) {
      if (maxReconnects < 0) {
        throw new IllegalArgumentException("maxReconnects must not be negative: " + maxReconnects);
      }
      this.maxReconnects = maxReconnects;
      return this;
    }

    /**
     * The wait before a reconnect: {@code initial} before the first in a row, doubling with each further one, at most
     * {@code max}; each wait is drawn between half of that and all of it, so watchers cut off together (a draining
     * server) do not come back together. Defaults: 1 s and 30 s.
     *
     * @throws IllegalArgumentException if {@code initial} is negative or {@code max} is less than it
     */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      Objects.requireNonNull(initial, "initial");
      Objects.requireNonNull(max, "max");
      if (initial.isNegative() || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("need 0 <= initial <= max: " + initial + ", " + max);
      }
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    /** The options. */
    public WatchOptions build() {
      return new WatchOptions(this);
    }
  }
}
