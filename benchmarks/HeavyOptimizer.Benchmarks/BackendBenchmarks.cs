using BenchmarkDotNet.Attributes;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Backends.HeavyDb;
using HeavyOptimizer.Backends.HeavyDb.StandIn;
using HeavyOptimizer.Backends.Parquet;
using HeavyOptimizer.Core.Data;

namespace HeavyOptimizer.Benchmarks;

/// <summary>
/// The data backends on the generated 25,544 x 82 file: ingest from CSV (parse, store, checksum), read back the
/// matrix, per-strategy metrics in the backend's engine. Each run gets a fresh store. <c>heavydb-binary</c> and
/// <c>heavydb-http</c> go through the Thrift client over loopback sockets to the protocol-level stand-in server, whose
/// SQL runs on the same embedded engine as <c>heavydb-embedded</c>: the difference is the protocol's cost.
/// </summary>
[MemoryDiagnoser]
public class BackendBenchmarks
{
    private readonly List<HeavyDbStandInServer> _servers = [];
    private string _csv = null!;
    private string _store = null!;
    private IDataBackend _backend = null!;
    private string _fingerprint = null!;

    [Params("parquet", "heavydb-embedded", "heavydb-binary", "heavydb-http")]
    public string Backend { get; set; } = "parquet";

    [GlobalSetup]
    public async Task Setup()
    {
        _csv = Inputs.Generated(25_544, 82);
        _store = Path.Combine(Path.GetTempPath(), "hopt-bench-store-" + Guid.NewGuid().ToString("N"));
        _backend = await Open(_store);
        _fingerprint = (await _backend.IngestAsync(_csv)).Fingerprint;
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _backend.DisposeAsync();
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        Directory.Delete(_store, recursive: true);
    }

    /// <summary>Parse the CSV and store it in a store of its own (dropped again after).</summary>
    [Benchmark]
    public async Task<int> Ingest()
    {
        var store = _store + "-ingest-" + Guid.NewGuid().ToString("N");
        await using (var backend = await Open(store))
        {
            var stored = await backend.IngestAsync(_csv);
            await backend.DropAsync(stored.Fingerprint);
        }

        Directory.Delete(store, recursive: true);
        return 0;
    }

    [Benchmark]
    public async Task<int> ReadBack() => (await _backend.LoadAsync(_fingerprint)).Matrix.Count;

    [Benchmark]
    public async Task<int> Metrics() => (await _backend.ComputeMetricsAsync(_fingerprint)).Length;

    private async Task<IDataBackend> Open(string store)
    {
        switch (Backend)
        {
            case "parquet":
                return new ParquetBackend(new ParquetBackendOptions { DataDirectory = store, Compute = "cpu" });
            case "heavydb-embedded":
                return await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = "embedded", DataDirectory = store });
            default:
                var server = await HeavyDbStandInServer.StartAsync(new HeavyDbStandInOptions { DataDirectory = store });
                _servers.Add(server);
                return await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = server.Url(Backend == "heavydb-http" ? "http" : "binary") });
        }
    }
}

/// <summary>
/// Per-strategy metrics: the vectorised CPU path against ILGPU's CPU accelerator on the first 2,000 strategies, and the
/// CPU path over all 25,544.
/// </summary>
public class MetricsKernelBenchmarks
{
    private StrategyMatrix _matrix = null!;
    private ILGPU.Context _context = null!;
    private ILGPU.Runtime.Accelerator _accelerator = null!;

    [GlobalSetup]
    public void Setup()
    {
        var full = Inputs.Matrix(Inputs.Generated(25_544, 82));
        _full = full;
        const int Count = 2_000;
        _matrix = new StrategyMatrix(full.Names.Take(Count).ToArray(), full.Dates, full.Values[..(Count * full.Rows)].ToArray());
        (_context, _accelerator) = StrategyMetricsKernels.OpenAccelerator(forceCpu: true);
        StrategyMetricsKernels.Ilgpu(_accelerator, _matrix); // compile the kernel once, outside the measurement
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }

    private StrategyMatrix _full = null!;

    [Benchmark(Baseline = true)]
    public int VectorisedCpu() => StrategyMetricsKernels.Cpu(_matrix).Length;

    /// <summary>The production CPU path over all 25,544 strategies (the target: under 50 ms).</summary>
    [Benchmark]
    public int VectorisedCpuAll25544() => StrategyMetricsKernels.Cpu(_full).Length;

    [Benchmark]
    public int IlgpuCpuAccelerator() => StrategyMetricsKernels.Ilgpu(_accelerator, _matrix).Length;
}

/// <summary>The layout decision: the long table the backend uses against a wide one (one column per strategy), and compressions.</summary>
public class ParquetLayoutBenchmarks
{
    private StrategyMatrix _matrix = null!;
    private string _dir = null!;

    [Params("long-snappy", "long-none", "long-zstd", "wide-snappy")]
    public string Layout { get; set; } = "long-snappy";

    [GlobalSetup]
    public void Setup()
    {
        _matrix = Inputs.Matrix(Inputs.Generated(25_544, 82));
        _dir = Path.Combine(Path.GetTempPath(), "hopt-bench-layout-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        Write();
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark]
    public void Write()
    {
        if (Layout == "wide-snappy")
        {
            WideLayout.Write(_matrix, Path.Combine(_dir, "wide.parquet"));
        }
        else
        {
            ParquetLayout.Write(_matrix, _dir, Layout switch
            {
                "long-none" => ParquetSharp.Compression.Uncompressed,
                "long-zstd" => ParquetSharp.Compression.Zstd,
                _ => ParquetSharp.Compression.Snappy,
            });
        }
    }

    [Benchmark]
    public int Read() => Layout == "wide-snappy" ? WideLayout.Read(Path.Combine(_dir, "wide.parquet")) : ParquetLayout.Read(_dir).Count;

    /// <summary>The alternative measured against: Date plus one double column per strategy, as the CSV is laid out.</summary>
    private static class WideLayout
    {
        public static void Write(StrategyMatrix matrix, string path)
        {
            var columns = new ParquetSharp.Column[matrix.Count + 1];
            columns[0] = new ParquetSharp.Column<DateOnly>("Date");
            for (var s = 0; s < matrix.Count; s++)
            {
                columns[s + 1] = new ParquetSharp.Column<double>(matrix.Names[s]);
            }

            using var writer = new ParquetSharp.ParquetFileWriter(path, columns, ParquetSharp.Compression.Snappy);
            using var group = writer.AppendRowGroup();
            using (var dates = group.NextColumn().LogicalWriter<DateOnly>())
            {
                dates.WriteBatch(matrix.Dates.ToArray());
            }

            for (var s = 0; s < matrix.Count; s++)
            {
                using var column = group.NextColumn().LogicalWriter<double>();
                column.WriteBatch(matrix.Column(s).ToArray());
            }

            writer.Close();
        }

        public static int Read(string path)
        {
            using var reader = new ParquetSharp.ParquetFileReader(path);
            using var group = reader.RowGroup(0);
            var columns = group.MetaData.NumColumns;
            var sum = 0;
            for (var c = 1; c < columns; c++)
            {
                using var column = group.Column(c).LogicalReader<double>();
                sum += column.ReadAll((int)group.MetaData.NumRows).Length;
            }

            return sum;
        }
    }
}
