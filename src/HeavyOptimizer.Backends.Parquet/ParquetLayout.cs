using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using HeavyOptimizer.Core.Data;
using ParquetSharp;
using ArrowFileReader = ParquetSharp.Arrow.FileReader;
using ArrowFileWriter = ParquetSharp.Arrow.FileWriter;

namespace HeavyOptimizer.Backends.Parquet;

/// <summary>
/// The on-disk layout of a dataset, chosen by measurement (benchmarks/README.md): a long table
/// <c>returns.parquet</c> (strategy_no int32, row_no int32, trade_date date32, pnl double), sorted by strategy then
/// row, so the pnl column is the engine's column-major matrix as it stands and reads back with one copy; and a small
/// <c>strategies.parquet</c> (strategy_no, strategy) with the names. Both written through Apache Arrow.
/// </summary>
internal static class ParquetLayout
{
    public const string ReturnsFile = "returns.parquet";
    public const string StrategiesFile = "strategies.parquet";

    /// <summary>Rows per row group of the returns table.</summary>
    public const int RowGroupRows = 1 << 20;

    public static void Write(StrategyMatrix matrix, string directory, Compression compression = Compression.Snappy)
    {
        var rows = matrix.Rows;
        var total = matrix.Count * rows;
        var strategyNo = new int[total];
        var rowNo = new int[total];
        var dates = new int[total];
        var epochDays = matrix.Dates.Select(d => d.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber).ToArray();
        for (var s = 0; s < matrix.Count; s++)
        {
            var at = s * rows;
            strategyNo.AsSpan(at, rows).Fill(s);
            for (var t = 0; t < rows; t++)
            {
                rowNo[at + t] = t;
                dates[at + t] = epochDays[t];
            }
        }

        var returns = new Schema.Builder()
            .Field(f => f.Name("strategy_no").DataType(Int32Type.Default).Nullable(false))
            .Field(f => f.Name("row_no").DataType(Int32Type.Default).Nullable(false))
            .Field(f => f.Name("trade_date").DataType(Date32Type.Default).Nullable(false))
            .Field(f => f.Name("pnl").DataType(DoubleType.Default).Nullable(false))
            .Build();
        var batch = new RecordBatch(returns,
        [
            new Int32Array(Buffer(strategyNo), ArrowBuffer.Empty, total, 0, 0),
            new Int32Array(Buffer(rowNo), ArrowBuffer.Empty, total, 0, 0),
            new Date32Array(Buffer(dates), ArrowBuffer.Empty, total, 0, 0),
            new DoubleArray(Buffer(matrix.Values.ToArray()), ArrowBuffer.Empty, total, 0, 0),
        ], total);
        WriteBatch(Path.Combine(directory, ReturnsFile), batch, compression);

        var names = new StringArray.Builder().AppendRange(matrix.Names).Build();
        var numbers = new Int32Array(Buffer(Enumerable.Range(0, matrix.Count).ToArray()), ArrowBuffer.Empty, matrix.Count, 0, 0);
        var strategies = new Schema.Builder()
            .Field(f => f.Name("strategy_no").DataType(Int32Type.Default).Nullable(false))
            .Field(f => f.Name("strategy").DataType(StringType.Default).Nullable(false))
            .Build();
        WriteBatch(Path.Combine(directory, StrategiesFile), new RecordBatch(strategies, [numbers, names], matrix.Count), compression);
    }

    public static StrategyMatrix Read(string directory)
    {
        var names = new List<string>();
        foreach (var batch in Batches(Path.Combine(directory, StrategiesFile), ["strategy"]))
        {
            var column = (StringArray)batch.Column(0);
            for (var i = 0; i < column.Length; i++)
            {
                names.Add(column.GetString(i));
            }
        }

        var returnsPath = Path.Combine(directory, ReturnsFile);
        long total;
        using (var meta = new ParquetFileReader(returnsPath))
        {
            total = meta.FileMetaData.NumRows;
        }

        if (names.Count == 0 || total % names.Count != 0)
        {
            throw new InvalidDataException($"{ReturnsFile} has {total} rows, not a multiple of {names.Count} strategies");
        }

        var rows = (int)(total / names.Count);
        var values = GC.AllocateUninitializedArray<double>(checked((int)total));
        var dates = new DateOnly[rows];
        var epoch = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
        var filled = 0;
        foreach (var batch in Batches(returnsPath, ["trade_date", "pnl"]))
        {
            var days = ((Date32Array)batch.Column(0)).Values;
            for (var i = 0; i < days.Length && filled + i < rows; i++)
            {
                dates[filled + i] = DateOnly.FromDayNumber(epoch + days[i]);
            }

            var pnl = ((DoubleArray)batch.Column(1)).Values;
            pnl.CopyTo(values.AsSpan(filled));
            filled += pnl.Length;
        }

        return filled == values.Length
            ? new StrategyMatrix(names, dates, values)
            : throw new InvalidDataException($"{ReturnsFile} yielded {filled} of its {total} values");
    }

    private static IEnumerable<RecordBatch> Batches(string path, string[] columns)
    {
        using var reader = new ArrowFileReader(path);
        var fields = reader.Schema.FieldsList;
        var indices = columns.Select(c => fields.Select(f => f.Name).ToList().IndexOf(c)).ToArray();
        if (indices.Any(i => i < 0))
        {
            throw new InvalidDataException($"{Path.GetFileName(path)} lacks a column of {string.Join(", ", columns)}");
        }

        using var batches = reader.GetRecordBatchReader(columns: indices);
        while (batches.ReadNextRecordBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
        {
            using (batch)
            {
                yield return batch;
            }
        }
    }

    private static void WriteBatch(string path, RecordBatch batch, Compression compression)
    {
        using var properties = new WriterPropertiesBuilder().Compression(compression).Build();
        using var writer = new ArrowFileWriter(path, batch.Schema, properties);
        writer.WriteRecordBatch(batch, RowGroupRows);
        writer.Close();
    }

    private static ArrowBuffer Buffer<T>(T[] values)
        where T : struct => new(MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
}
