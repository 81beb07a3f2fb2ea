package com.pcusage.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.type.Decimal;
import com.pcusage.partnercenter.usage.v1.CustomerMonthlyUsageRecord;
import com.pcusage.partnercenter.usage.v1.SpendingBudget;
import java.math.BigDecimal;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** {@link Decimals} without a server. */
class DecimalsTest {
  private static Decimal decimal(String value) {
    return Decimal.newBuilder().setValue(value).build();
  }

  @ParameterizedTest
  @CsvSource({
    "120.5682999999995904716, 1205682999999995904716, 19",
    "79228162514264337593543950335, 79228162514264337593543950335, 0",
    "1.50, 150, 2",
    "1.5E+2, 15, -1",
    "2.5e-3, 25, 4",
    "-0.0, 0, 1",
    "-3.75, -375, 2",
    "0.5, 5, 1",
  })
  void keepsDigitsAndScale(String text, String unscaled, int scale) {
    BigDecimal value = Decimals.toBigDecimal(decimal(text));
    assertEquals(new BigDecimal(unscaled), new BigDecimal(value.unscaledValue()));
    assertEquals(scale, value.scale());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " 1", "1 ", "NaN", "Infinity", "1,5", "1.2.3", "0x10", "1E", "\u0661\u0662", "1e99999999999"})
  void rejectsWhatIsNotADecimal(String text) {
    assertThrows(NumberFormatException.class, () -> Decimals.toBigDecimal(decimal(text)));
  }

  @Test
  void roundTripsThroughDecimal() {
    BigDecimal value = new BigDecimal("-12.39999999999999985235");
    assertEquals(value, Decimals.toBigDecimal(Decimals.fromBigDecimal(value)));
    assertEquals("1E+3", Decimals.fromBigDecimal(new BigDecimal("1E+3")).getValue());
  }

  @Test
  void recordAccessorsKeepPresence() {
    CustomerMonthlyUsageRecord empty = CustomerMonthlyUsageRecord.getDefaultInstance();
    assertEquals(Optional.empty(), Decimals.totalCost(empty));
    assertEquals(Optional.empty(), Decimals.usdTotalCost(empty));
    assertEquals(Optional.empty(), Decimals.percentUsed(empty));
    assertEquals(Optional.empty(), Decimals.amount(SpendingBudget.getDefaultInstance()));

    CustomerMonthlyUsageRecord zero =
        CustomerMonthlyUsageRecord.newBuilder()
            .setTotalCost(decimal("0"))
            .setBudget(SpendingBudget.newBuilder().setAmount(decimal("0.00")))
            .build();
    assertEquals(Optional.of(BigDecimal.ZERO), Decimals.totalCost(zero));
    assertEquals(Optional.of(new BigDecimal("0.00")), Decimals.amount(zero.getBudget()));
  }
}
