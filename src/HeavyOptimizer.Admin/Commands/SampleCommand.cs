using System.CommandLine;
using HeavyOptimizer.Core.Sampling;

namespace HeavyOptimizer.Admin.Commands;

/// <summary><c>hopt sample</c>: writes a synthetic dataset with the real files' statistics.</summary>
internal static class SampleCommand
{
    public static Command Create()
    {
        var strategies = new Option<int>("--strategies") { Description = "Number of strategy columns", DefaultValueFactory = _ => 2500 };
        var rows = new Option<int>("--rows") { Description = "Number of rows (weekly dates)", DefaultValueFactory = _ => 82 };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same seed gives the same bytes", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--output") { Description = "CSV file to write", Required = true };
        var command = new Command("sample", "Generate a realistic synthetic strategy CSV") { strategies, rows, seed, output };
        command.SetAction(parse => ExitCodes.Guard(Console.Error, () =>
        {
            var path = parse.GetValue(output)!;
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            SampleGenerator.Write(path, parse.GetValue(strategies), parse.GetValue(rows), parse.GetValue(seed));
            Console.WriteLine($"wrote {parse.GetValue(strategies)} strategies x {parse.GetValue(rows)} rows to {path}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
