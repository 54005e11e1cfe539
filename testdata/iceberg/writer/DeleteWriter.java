// DeleteWriter commits merge-on-read deletes to Iceberg tables that
// make_tables.py created, with Iceberg's own Java API (1.10.0): position
// delete files and equality delete files (format v2) and deletion vectors
// (v3, Puffin). pyiceberg cannot write any of them: its delete() rewrites
// data files (copy-on-write).
//
// Usage: java -cp 'lib/*:classes' DeleteWriter < request.json > result.json
//
// The request names a catalog and a list of operations, run in order, each
// its own commit (one snapshot):
//
//   {"catalog": {"type": "rest", "uri": "http://127.0.0.1:8181",
//                "warehouse": "s3://bucket/", "s3.endpoint": "http://127.0.0.1:9000"}
//             | {"type": "sql", "uri": "jdbc:sqlite:/path/catalog.db", "name": "fixtures",
//                "warehouse": "file:///path/warehouse"},
//    "ops": [{"table": "lake.t", "kind": "position" | "dv", "column": "id", "values": [1, 2]},
//            {"table": "lake.t", "kind": "equality", "columns": ["id"], "rows": [[1], [2]]},
//            {"table": "lake.t", "kind": "upgrade", "format_version": 3}]}
//
// "position" and "dv" delete the rows of the table's live data files whose
// column (an int or long) holds one of the values: the writer finds their
// positions by reading the data files, so the caller's model of the data
// needs only the values, not the file layout. "equality" writes one
// equality delete file (unpartitioned tables only) with the given rows of
// the named columns. "upgrade" raises the table's format version. The result has, per operation, the new snapshot's id,
// sequence number and timestamp, and the delete files it added.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.BaseDeleteLoader;
import org.apache.iceberg.data.GenericAppenderFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.deletes.BaseDVFileWriter;
import org.apache.iceberg.deletes.EqualityDeleteWriter;
import org.apache.iceberg.deletes.PositionDelete;
import org.apache.iceberg.deletes.PositionDeleteIndex;
import org.apache.iceberg.deletes.PositionDeleteWriter;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Type;

public class DeleteWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    JsonNode request = JSON.readTree(System.in);
    Catalog catalog = catalog(request.get("catalog"));
    ArrayNode results = JSON.createArrayNode();
    int taskId = 0;
    for (JsonNode op : request.get("ops")) {
      Table table = catalog.loadTable(TableIdentifier.parse(op.get("table").asText()));
      String kind = op.get("kind").asText();
      if (kind.equals("upgrade")) {
        // No snapshot: a metadata-only commit (pyiceberg 0.12 creates v3
        // tables but cannot append to them, so they start as v2).
        table.updateProperties().set("format-version", op.get("format_version").asText()).commit();
        ObjectNode r = results.addObject();
        r.put("table", op.get("table").asText());
        r.put("kind", kind);
        r.put("format_version", ((HasTableOperations) table).operations().refresh().formatVersion());
        continue;
      }
      List<DeleteFile> added;
      List<DeleteFile> removed = new ArrayList<>();
      switch (kind) {
        case "position":
          added = positionDeletes(table, op, taskId++);
          break;
        case "dv":
          added = deletionVectors(table, op, taskId++, removed);
          break;
        case "equality":
          added = List.of(equalityDeletes(table, op, taskId++));
          break;
        default:
          throw new IllegalArgumentException("unknown delete kind " + kind);
      }
      RowDelta delta = table.newRowDelta();
      Snapshot base = table.currentSnapshot();
      if (base != null) {
        delta.validateFromSnapshot(base.snapshotId());
      }
      added.forEach(delta::addDeletes);
      removed.forEach(delta::removeDeletes);
      delta.commit();
      table.refresh();
      Snapshot snap = table.currentSnapshot();
      ObjectNode r = results.addObject();
      r.put("table", op.get("table").asText());
      r.put("kind", kind);
      r.put("snapshot_id", snap.snapshotId());
      r.put("sequence_number", snap.sequenceNumber());
      r.put("timestamp_ms", snap.timestampMillis());
      ArrayNode files = r.putArray("delete_files");
      for (DeleteFile f : added) {
        ObjectNode o = files.addObject();
        o.put("path", f.location());
        o.put("content", f.content().name());
        o.put("format", f.format().name());
        o.put("record_count", f.recordCount());
        if (f.referencedDataFile() != null) {
          o.put("referenced_data_file", f.referencedDataFile());
        }
      }
      r.put("removed_delete_files", removed.size());
    }
    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(results));
  }

  static Catalog catalog(JsonNode c) {
    Map<String, String> props = new HashMap<>();
    props.put("warehouse", c.get("warehouse").asText());
    props.put("uri", c.get("uri").asText());
    String type = c.get("type").asText();
    if (type.equals("rest")) {
      props.put("type", "rest");
      props.put("io-impl", "org.apache.iceberg.aws.s3.S3FileIO");
      props.put("s3.endpoint", c.get("s3.endpoint").asText());
      props.put("s3.path-style-access", "true");
      props.put("client.region", c.path("region").asText("us-east-1"));
      return CatalogUtil.buildIcebergCatalog("rest", props, new Configuration());
    }
    if (type.equals("sql")) {
      props.put("type", "jdbc");
      // V0: tables only, as pyiceberg (which made the catalog) uses it.
      props.put("jdbc.schema-version", "V0");
      return CatalogUtil.buildIcebergCatalog(c.get("name").asText(), props, new Configuration());
    }
    throw new IllegalArgumentException("unknown catalog type " + type);
  }

  static Set<Long> longValues(JsonNode values) {
    Set<Long> out = new HashSet<>();
    values.forEach(v -> out.add(v.asLong()));
    return out;
  }

  // Positions maps each live data file holding a matching row to the
  // positions of those rows; the files are read whole, so a row's index is
  // its position.
  static Map<DataFile, List<Long>> positions(Table table, String column, Set<Long> values)
      throws IOException {
    Map<DataFile, List<Long>> out = new LinkedHashMap<>();
    Schema schema = table.schema();
    Schema projection = schema.select(column);
    try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        DataFile file = task.file();
        if (file.format() != FileFormat.PARQUET) {
          throw new IllegalStateException("not a Parquet data file: " + file.location());
        }
        List<Long> hits = new ArrayList<>();
        try (CloseableIterable<Record> rows =
            Parquet.read(table.io().newInputFile(file.location()))
                .project(projection)
                .createReaderFunc(fs -> GenericParquetReaders.buildReader(projection, fs))
                .build()) {
          long pos = 0;
          for (Record row : rows) {
            Object v = row.getField(column);
            if (v != null && values.contains(((Number) v).longValue())) {
              hits.add(pos);
            }
            pos++;
          }
        }
        if (!hits.isEmpty()) {
          out.put(file, hits);
        }
      }
    }
    return out;
  }

  static List<DeleteFile> positionDeletes(Table table, JsonNode op, int taskId)
      throws IOException {
    Map<DataFile, List<Long>> hits =
        positions(table, op.get("column").asText(), longValues(op.get("values")));
    OutputFileFactory files =
        OutputFileFactory.builderFor(table, 1, taskId).format(FileFormat.PARQUET).build();
    List<DeleteFile> out = new ArrayList<>();
    // One delete file per data file: a position delete file belongs to the
    // partition of the data files it names.
    for (Map.Entry<DataFile, List<Long>> e : hits.entrySet()) {
      DataFile data = e.getKey();
      PartitionSpec spec = table.specs().get(data.specId());
      GenericAppenderFactory factory =
          new GenericAppenderFactory(table.schema(), spec, null, null, null);
      PositionDeleteWriter<Record> writer =
          factory.newPosDeleteWriter(
              files.newOutputFile(spec, data.partition()), FileFormat.PARQUET, data.partition());
      try (writer) {
        PositionDelete<Record> delete = PositionDelete.create();
        for (long pos : e.getValue()) {
          writer.write(delete.set(data.location(), pos, null));
        }
      }
      out.add(writer.toDeleteFile());
    }
    if (out.isEmpty()) {
      throw new IllegalStateException("no row of " + op + " found");
    }
    return out;
  }

  static List<DeleteFile> deletionVectors(
      Table table, JsonNode op, int taskId, List<DeleteFile> removed) throws IOException {
    Map<DataFile, List<Long>> hits =
        positions(table, op.get("column").asText(), longValues(op.get("values")));
    // A data file has at most one deletion vector: the new one carries the
    // old one's positions too and replaces it in the same commit.
    Map<String, List<DeleteFile>> previous = new HashMap<>();
    try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        previous.put(task.file().location(), task.deletes());
      }
    }
    BaseDeleteLoader loader = new BaseDeleteLoader(f -> table.io().newInputFile(f.location()));
    OutputFileFactory files =
        OutputFileFactory.builderFor(table, 1, taskId).format(FileFormat.PUFFIN).build();
    BaseDVFileWriter writer =
        new BaseDVFileWriter(
            files,
            path -> {
              List<DeleteFile> old = previous.getOrDefault(path, List.of());
              if (old.isEmpty()) {
                return null;
              }
              return loader.loadPositionDeletes(old, path);
            });
    try (writer) {
      for (Map.Entry<DataFile, List<Long>> e : hits.entrySet()) {
        DataFile data = e.getKey();
        PartitionSpec spec = table.specs().get(data.specId());
        for (long pos : e.getValue()) {
          writer.delete(data.location(), pos, spec, data.partition());
        }
      }
    }
    removed.addAll(writer.result().rewrittenDeleteFiles());
    return writer.result().deleteFiles();
  }

  static DeleteFile equalityDeletes(Table table, JsonNode op, int taskId) throws IOException {
    if (!table.spec().isUnpartitioned()) {
      throw new IllegalArgumentException("equality deletes need an unpartitioned table");
    }
    Schema schema = table.schema();
    List<String> columns = new ArrayList<>();
    op.get("columns").forEach(c -> columns.add(c.asText()));
    Schema deleteSchema = schema.select(columns);
    int[] ids = columns.stream().mapToInt(c -> schema.findField(c).fieldId()).toArray();
    GenericAppenderFactory factory =
        new GenericAppenderFactory(schema, table.spec(), ids, deleteSchema, null);
    OutputFileFactory files =
        OutputFileFactory.builderFor(table, 1, taskId).format(FileFormat.PARQUET).build();
    StructLike partition = null;
    EqualityDeleteWriter<Record> writer =
        factory.newEqDeleteWriter(files.newOutputFile(), FileFormat.PARQUET, partition);
    try (writer) {
      for (JsonNode row : op.get("rows")) {
        GenericRecord rec = GenericRecord.create(deleteSchema);
        for (int i = 0; i < columns.size(); i++) {
          Type type = deleteSchema.findType(columns.get(i));
          rec.setField(columns.get(i), value(type, row.get(i)));
        }
        writer.write(rec);
      }
    }
    return writer.toDeleteFile();
  }

  static Object value(Type type, JsonNode v) {
    if (v == null || v.isNull()) {
      return null;
    }
    switch (type.typeId()) {
      case INTEGER:
        return v.asInt();
      case LONG:
        return v.asLong();
      case STRING:
        return v.asText();
      default:
        throw new IllegalArgumentException("equality delete on a " + type + " column");
    }
  }

  private DeleteWriter() {}
}
