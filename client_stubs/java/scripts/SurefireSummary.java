import java.io.File;
import java.util.Arrays;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Adds up Surefire's XML reports (target/surefire-reports/TEST-*.xml) and prints "PASSED FAILED SKIPPED" on one line,
 * where FAILED counts failures and errors. It counts the {@code <testcase>} elements, not the suite's attributes:
 * Surefire writes the cases of JUnit {@code @Nested} classes into their outer class's report with {@code tests="0"}.
 * run_tests runs it with the JDK's source launcher: {@code java scripts/SurefireSummary.java target/surefire-reports}.
 * Exits 2 when a report cannot be read.
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
          NodeList cases = suite.getElementsByTagName("testcase");
          for (int i = 0; i < cases.getLength(); i++) {
            Element testCase = (Element) cases.item(i);
            tests++;
            if (has(testCase, "failure") || has(testCase, "error")) {
              failed++;
            } else if (has(testCase, "skipped")) {
              skipped++;
            }
          }
        } catch (Exception e) {
          System.err.println("SurefireSummary: cannot read " + report + ": " + e);
          System.exit(2);
        }
      }
    }
    System.out.println((tests - failed - skipped) + " " + failed + " " + skipped);
  }

  private static boolean has(Element testCase, String child) {
    return testCase.getElementsByTagName(child).getLength() > 0;
  }
}
