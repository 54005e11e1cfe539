import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * A JDBC client for the end-to-end test: a statement, a prepared statement
 * with a bound parameter, a Hive-partitioned table's labelled columns and
 * the metadata call BI tools make, each printed
 * as tab-separated lines the Go test compares with DuckDB.
 */
public class JdbcSmoke {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:arrow-flight-sql://" + args[0] + "/?useEncryption=false";
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery(
                     "SELECT device, count(*) AS n, sum(revenue) AS revenue FROM demo.plays GROUP BY device ORDER BY device")) {
                while (rs.next()) {
                    System.out.println("group\t" + rs.getString(1) + "\t" + rs.getLong(2) + "\t" + rs.getBigDecimal(3).toPlainString());
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM demo.plays WHERE device = ? AND duration_seconds > ?")) {
                ps.setString(1, "tv");
                ps.setLong(2, 600);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    System.out.println("prepared\t" + rs.getLong(1));
                }
            }
            // A table with two Hive keys: each value under its own label.
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT * FROM sales.orders ORDER BY id LIMIT 20")) {
                java.sql.ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    StringBuilder line = new StringBuilder("hive");
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        line.append('\t').append(md.getColumnLabel(i)).append('=').append(rs.getString(i));
                    }
                    System.out.println(line);
                }
            }
            try (ResultSet rs = c.getMetaData().getTables(null, null, "%", null)) {
                while (rs.next()) {
                    System.out.println("table\t" + rs.getString("TABLE_CAT") + "." + rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
                }
            }
            // Column descriptions (the server's catalog file) arrive as REMARKS.
            try (ResultSet rs = c.getMetaData().getColumns(null, "sales", "orders", "%")) {
                while (rs.next()) {
                    System.out.println("column\t" + rs.getString("COLUMN_NAME") + "\t" + rs.getString("REMARKS"));
                }
            }
        }
    }
}
