using System.CommandLine;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Sampling;
using HeavyOptimizer.Silo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>
/// <c>hopt quickstart</c>: the whole system on one machine: an embedded silo in this process, a generated sample, one
/// job through the migration controller and a backend, its result, and the dashboard's address.
/// </summary>
internal static class QuickstartCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "Where the silo keeps state, data, output and logs (default ./quickstart)" };
        var timeLimit = new Option<double>("--time-limit") { Description = "Seconds of search for the job", DefaultValueFactory = _ => 5 };
        var keep = new Option<bool>("--keep-running") { Description = "Keep the silo (and its dashboard) running after the job, until Ctrl+C" };
        var siloPort = new Option<int>("--silo-port") { DefaultValueFactory = _ => 11111, Description = "Silo port" };
        var gatewayPort = new Option<int>("--gateway-port") { DefaultValueFactory = _ => 30000, Description = "Gateway port" };
        var dashboardPort = new Option<int>("--dashboard-port") { DefaultValueFactory = _ => 8080, Description = "Dashboard port" };
        var command = new Command("quickstart", "Start an embedded silo, run one job over a generated sample, print the result and the dashboard address")
        {
            dataDir, timeLimit, keep, siloPort, gatewayPort, dashboardPort,
        };
        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            var root = Path.GetFullPath(parse.GetValue(dataDir) ?? "quickstart");
            var sample = Path.Combine(root, "input", "sample_2500x82.csv");
            if (!File.Exists(sample))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(sample)!);
                SampleGenerator.Write(sample, 2500, 82, 1);
            }

            var options = new SiloHostOptions
            {
                DataDirectory = root,
                SiloPort = parse.GetValue(siloPort),
                GatewayPort = parse.GetValue(gatewayPort),
                DashboardPort = parse.GetValue(dashboardPort),
                HeavyDbUrl = "embedded",
            };
            using var host = await SiloHost.BuildAsync(options, cancellation);
            await host.StartAsync(cancellation);
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            var jobId = $"quickstart-{DateTime.UtcNow:yyyyMMddHHmmss}";
            var job = grains.GetGrain<IJobGrain>(jobId);
            await job.Submit(new JobSpec { InputPath = sample, PortfolioSize = 35, Seed = 1, TimeLimitSeconds = parse.GetValue(timeLimit) });
            JobStatus status;
            do
            {
                await Task.Delay(250, cancellation);
                status = (await job.GetStatus())!;
            }
            while (!status.IsFinished);

            var config = await grains.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey).GetConfig();
            Console.WriteLine($"job {jobId}: {status.State} on {status.Route?.Primary} (migration phase {MigrationPhases.Name(config.Phase)}, config v{config.Version})");
            if (status.Result is { } r)
            {
                Console.WriteLine($"best: {r.BestAlgorithm} size {r.BestSize} fitness {r.BestFitness:F4}, dataset {r.Fingerprint[..16]}..., {r.Seconds:F1} s");
                Console.WriteLine($"run directory: {r.RunDirectory}");
            }
            else
            {
                Console.WriteLine($"error: {status.Error}");
            }

            Console.WriteLine($"dashboard: {SiloHost.DashboardUrl(options)}{(parse.GetValue(keep) ? " (Ctrl+C to stop)" : " (while the silo runs: add --keep-running)")}");
            Console.WriteLine($"state, stores, output and logs: {root}");
            if (parse.GetValue(keep))
            {
                await host.WaitForShutdownAsync(cancellation);
            }
            else
            {
                await host.StopAsync(CancellationToken.None);
            }

            return status.State == JobState.Completed ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }
}
