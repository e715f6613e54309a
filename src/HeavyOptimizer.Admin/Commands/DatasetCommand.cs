using System.CommandLine;
using System.Text.Json;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Output;

namespace HeavyOptimizer.Admin.Commands;

/// <summary><c>hopt dataset ingest|inspect|drop</c>: manage what a data backend stores.</summary>
internal static class DatasetCommand
{
    public static Command Create()
    {
        var command = new Command("dataset", "Ingest, inspect and drop datasets in a data backend");
        command.Subcommands.Add(Ingest());
        command.Subcommands.Add(Inspect());
        command.Subcommands.Add(Drop());
        return command;
    }

    private static Command Ingest()
    {
        var input = new Option<string>("--input") { Description = "Strategy CSV to store", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the stored dataset as JSON" };
        var command = new Command("ingest", "Store a CSV in the backend (idempotent: same bytes, same dataset)") { input, json };
        var backends = new BackendOptions();
        backends.AddTo(command);
        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            await using var backend = await OpenStoringAsync(backends, parse, cancellation);
            Print([await backend.IngestAsync(parse.GetValue(input)!, cancellation)], parse.GetValue(json));
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Inspect()
    {
        var fingerprint = new Option<string?>("--fingerprint") { Description = "Dataset fingerprint (SHA-256 of the CSV)" };
        var input = new Option<string?>("--input") { Description = "A CSV whose stored dataset to show (its fingerprint is computed)" };
        var json = new Option<bool>("--json") { Description = "Print as JSON" };
        var health = new Option<bool>("--health") { Description = "Also probe the backend's health" };
        var command = new Command("inspect", "Show one stored dataset, or all of them") { fingerprint, input, json, health };
        var backends = new BackendOptions();
        backends.AddTo(command);
        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            await using var backend = await OpenStoringAsync(backends, parse, cancellation);
            var wanted = Fingerprint(parse.GetValue(fingerprint), parse.GetValue(input));
            if (parse.GetValue(health))
            {
                var report = await backend.HealthAsync(cancellation);
                Console.Error.WriteLine($"health: {(report.Healthy ? "ok" : "DOWN")} in {report.Latency.TotalMilliseconds:F0} ms: {report.Detail}");
            }

            if (wanted is null)
            {
                Print(await backend.ListAsync(cancellation), parse.GetValue(json));
                return ExitCodes.Success;
            }

            var found = await backend.DescribeAsync(wanted, cancellation);
            if (found is null)
            {
                Console.Error.WriteLine($"hopt: no dataset {wanted} in the {backend.Name} backend");
                return ExitCodes.Failure;
            }

            Print([found], parse.GetValue(json));
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Drop()
    {
        var fingerprint = new Option<string?>("--fingerprint") { Description = "Dataset fingerprint" };
        var input = new Option<string?>("--input") { Description = "A CSV whose stored dataset to drop" };
        var command = new Command("drop", "Remove a stored dataset") { fingerprint, input };
        var backends = new BackendOptions();
        backends.AddTo(command);
        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            var wanted = Fingerprint(parse.GetValue(fingerprint), parse.GetValue(input))
                         ?? throw new ArgumentException("give --fingerprint or --input");
            await using var backend = await OpenStoringAsync(backends, parse, cancellation);
            var dropped = await backend.DropAsync(wanted, cancellation);
            Console.WriteLine(dropped ? $"dropped {wanted} from the {backend.Name} backend" : $"no dataset {wanted} in the {backend.Name} backend");
            return dropped ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }

    private static async Task<IDataBackend> OpenStoringAsync(BackendOptions backends, ParseResult parse, CancellationToken cancellation)
    {
        var backend = await backends.OpenAsync(parse, cancellation);
        if (backend is InMemoryBackend)
        {
            throw new ArgumentException("the core backend keeps nothing between commands: use --backend parquet or --backend heavydb");
        }

        return backend;
    }

    private static string? Fingerprint(string? fingerprint, string? input) =>
        fingerprint ?? (input is null ? null : CsvDatasetReader.Read(input).Fingerprint);

    private static void Print(IReadOnlyList<StoredDataset> datasets, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(datasets, RunReport.JsonOptions));
            return;
        }

        foreach (var d in datasets)
        {
            Console.WriteLine($"{d.Fingerprint}  {d.Strategies} strategies x {d.Rows} rows ({d.FirstDate:yyyy-MM-dd}..{d.LastDate:yyyy-MM-dd})  " +
                              $"{d.Backend}: {d.Location}  from {d.Source}  at {d.IngestedAt:u}");
        }

        if (datasets.Count == 0)
        {
            Console.WriteLine("no datasets stored");
        }
    }
}
