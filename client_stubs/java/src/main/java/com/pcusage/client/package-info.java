/**
 * Helpers over the generated pcusage stubs ({@code com.pcusage.partnercenter.usage.v1}).
 *
 * <ul>
 *   <li>{@link com.pcusage.client.ConnectionOptions} opens channels over TLS or mTLS and attaches the caller's API key;
 *   <li>{@link com.pcusage.client.UsageRecordsClient} opens {@code ListUsageRecords} streams with a bearer token and a
 *       deadline;
 *   <li>{@link com.pcusage.client.ListOptions} sets a list's filters (customers, currencies, least percent used, only
 *       with a budget), staleness and batch size;
 *   <li>{@link com.pcusage.client.UsageRecordStream} iterates their records, cancels them, and tracks the resume token;
 *   <li>{@link com.pcusage.client.BudgetWatch} iterates a {@code WatchBudgets} watch's events (set up with {@link
 *       com.pcusage.client.WatchOptions}), cancels it, and reconnects it within a bound;
 *   <li>{@link com.pcusage.client.Decimals} turns {@code google.type.Decimal} into exact {@link java.math.BigDecimal}s;
 *   <li>{@link com.pcusage.client.ErrorDetails} reads {@code google.rpc.ErrorInfo} and {@code google.rpc.RetryInfo}
 *       from a failed call.
 * </ul>
 */
package com.pcusage.client;
