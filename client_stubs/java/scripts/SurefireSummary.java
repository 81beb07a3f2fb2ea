import java.io.File;
import java.util.Arrays;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;

/**
 * Adds up Surefire's XML reports (target/surefire-reports/TEST-*.xml) and prints "PASSED FAILED SKIPPED" on one line,
 * where FAILED counts failures and errors. run_tests runs it with the JDK's source launcher:
 * {@code java scripts/SurefireSummary.java target/surefire-reports}. Exits 2 when a report cannot be read.
 */
public final class SurefireSummary {
  public static void main(String[] args) throws Exception {
    File[] reports = new File(args[0]).listFiles((dir, name) -> name.startsWith("TEST-") && name.endsWith(".xml"));
    long tests = 0;
    long failed = 0;
    long skipped = 0;
    if (reports != null) {
      Arrays.sort(reports);
      DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      for (File report : reports) {
        try {
          Element suite = factory.newDocumentBuilder().parse(report).getDocumentElement();
          tests += count(suite, "tests");
          failed += count(suite, "failures") + count(suite, "errors");
          skipped += count(suite, "skipped");
        } catch (Exception e) {
          System.err.println("SurefireSummary: cannot read " + report + ": " + e);
          System.exit(2);
        }
      }
    }
    System.out.println((tests - failed - skipped) + " " + failed + " " + skipped);
  }

  private static long count(Element suite, String attribute) {
    String value = suite.getAttribute(attribute);
    return value.isEmpty() ? 0 : Long.parseLong(value);
  }
}
