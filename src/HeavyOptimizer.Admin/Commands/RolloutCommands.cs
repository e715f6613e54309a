using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Admin.Commands;

/// <summary><c>hopt rollout start|status|pause|resume|abort</c>: the controller's automatic progressive rollout.</summary>
internal static partial class ClusterCommands
{
    private static Command Rollout()
    {
        var steps = new Option<string>("--steps") { Description = "Parquet traffic percentages, ascending, e.g. 5,25,50,100", Required = true };
        var minJobs = new Option<int>("--min-jobs") { Description = "Parquet jobs routed at a step's weight before it is analysed", DefaultValueFactory = _ => 20 };
        var maxErrors = new Option<double>("--max-error-rate") { Description = "Highest backend-cause error rate of a step's Parquet jobs, in percent", DefaultValueFactory = _ => 5 };
        var maxP95 = new Option<string?>("--max-p95") { Description = "Highest p95 runtime of a step's Parquet jobs, e.g. 5s, 2m, 1500ms (default: no limit)" };
        var minMatch = new Option<double?>("--min-match-rate") { Description = "Lowest dual-write match rate of a step's jobs, in percent (needs dual-write and validation on)" };
        var pause = new Option<bool>("--pause-after-each") { Description = "Pause after each passed step for a manual gate (hopt rollout resume promotes)" };
        var complete = new Option<bool>("--complete") { Description = "After the last step (100) passes, move to parquet_only too (its guard still applies)" };
        var backfill = new Option<bool>("--count-backfill") { Description = "From dual_write: let the cut_over guard count clean backfill comparisons (hopt validate) too" };
        var start = Change("start", "Start stepping the Parquet traffic automatically, analysing each step before the next", [steps, minJobs, maxErrors, maxP95, minMatch, pause, complete, backfill],
            (parse, c, who, why) => c.StartRollout(new RolloutPlan(
                ParseSteps(parse.GetValue(steps)!), parse.GetValue(minJobs), parse.GetValue(maxErrors) / 100, parse.GetValue(maxP95) is { } p ? ParseDuration(p, "--max-p95").TotalSeconds : null,
                parse.GetValue(minMatch) / 100, parse.GetValue(pause), parse.GetValue(complete), parse.GetValue(backfill)), who, why));
        var status = ClusterCommand("status", "Where the rollout stands and its latest analysis", [], async (_, client, json, _) =>
        {
            var rollout = (await client.Controller.GetStatus(0)).Rollout;
            Console.WriteLine(json ? JsonSerializer.Serialize(rollout, Json) : rollout is null ? "no rollout has been started" : Describe(rollout));
            return ExitCodes.Success;
        });
        return new Command("rollout", "The automatic progressive rollout of Parquet traffic (Argo Rollouts-style steps with analysis)")
        {
            start,
            status,
            Change("pause", "Hold the rollout at its step (traffic stays)", [], (_, c, who, why) => c.PauseRollout(who, why)),
            Change("resume", "Resume a paused rollout (after a manual gate: go to the next step)", [], (_, c, who, why) => c.ResumeRollout(who, why)),
            Change("abort", "Stop the rollout and restore the settings from before its current step", [], (_, c, who, why) => c.AbortRollout(who, why)),
        };
    }

    private static string Describe(Rollout r) =>
        $"rollout {r.Stage.ToString().ToLowerInvariant()}: step {r.Step + 1} of {r.Plan.Steps.Count} ({string.Join(" -> ", r.Plan.Steps.Select((s, i) => i == r.Step ? $"[{s} %]" : $"{s} %"))}), " +
        $"started by {r.StartedBy}, this step since {r.StepStartedAt:u}\n  {r.Analysis}";

    private static IReadOnlyList<int> ParseSteps(string text) =>
        [.. text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s =>
            int.TryParse(s.TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : throw new ArgumentException($"--steps '{text}': '{s}' is not a whole percentage"))];

    /// <summary>5s, 2m, 1500ms, or plain seconds.</summary>
    internal static TimeSpan ParseDuration(string text, string option)
    {
        var t = text.Trim();
        var (number, scale) = t.EndsWith("ms", StringComparison.Ordinal) ? (t[..^2], 0.001)
            : t.EndsWith('s') ? (t[..^1], 1.0)
            : t.EndsWith('m') ? (t[..^1], 60.0)
            : t.EndsWith('h') ? (t[..^1], 3600.0)
            : (t, 1.0);
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value > 0
            ? TimeSpan.FromSeconds(value * scale)
            : throw new ArgumentException($"{option} '{text}': a positive duration such as 5s, 2m or 1500ms");
    }
}
