using System.CommandLine;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Backends.HeavyDb;
using HeavyOptimizer.Backends.Parquet;
using HeavyOptimizer.Grains.Jobs;

namespace HeavyOptimizer.Admin;

/// <summary>The options every data-backend command shares, and the one place backends are opened from them.</summary>
internal sealed class BackendOptions
{
    public Option<string> Backend { get; } = new("--backend")
    {
        Description = "Data backend: core (read the CSV in process), parquet, heavydb",
        DefaultValueFactory = _ => "core",
    };

    public Option<string?> DataDirectory { get; } = new("--data-dir")
    {
        Description = $"Where the parquet backend and the embedded HeavyDB engine keep data (default ${DataDirectories.EnvironmentVariable} or {DataDirectories.Default})",
    };

    public Option<string?> HeavyDb { get; } = new("--heavydb")
    {
        Description = $"HeavyDB engine: 'embedded' (DuckDB stand-in) or heavydb://user:password@host:6274/db?protocol=binary|http (default ${HeavyDbConnection.EnvironmentVariable}, else embedded)",
    };

    public Option<string> Compute { get; } = new("--compute")
    {
        Description = "Where the parquet backend computes metrics: auto (CUDA when present), cpu, ilgpu-cpu, cuda",
        DefaultValueFactory = _ => "auto",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Backend);
        command.Options.Add(DataDirectory);
        command.Options.Add(HeavyDb);
        command.Options.Add(Compute);
    }

    public Task<IDataBackend> OpenAsync(ParseResult parse, CancellationToken cancellation) =>
        BackendProvider.Open(parse.GetValue(Backend)!, new BackendHostOptions
        {
            DataDirectory = parse.GetValue(DataDirectory) ?? DataDirectories.Default,
            HeavyDbUrl = Silo.Security.HostSecrets.HeavyDbUrl(parse.GetValue(HeavyDb)),
            Compute = parse.GetValue(Compute)!,
        }, cancellation);

    /// <summary>What a backend computes on, for results and status lines.</summary>
    public static string EngineOf(IDataBackend backend, ParseResult parse, BackendOptions options) => backend switch
    {
        HeavyDbBackend heavy => heavy.Engine,
        ParquetBackend => parse.GetValue(options.Compute) switch
        {
            "auto" => StrategyMetricsKernels.CudaAvailable() ? "Parquet/Arrow, metrics on CUDA (ILGPU)" : "Parquet/Arrow, metrics on the vectorised CPU path",
            var device => $"Parquet/Arrow, metrics on {device}",
        },
        _ => "in-process engine",
    };
}
