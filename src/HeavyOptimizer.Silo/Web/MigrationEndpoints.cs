using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orleans.Runtime;

namespace HeavyOptimizer.Silo.Web;

/// <summary>
/// The migration page and its data, on the dashboard's port beside the Orleans Dashboard: <c>/migration</c> (the page,
/// which polls <c>/api/status</c>), <c>/api/status</c>, <c>/api/audit</c>, <c>/api/history</c>, <c>/healthz</c>
/// (alive: an active member whose database answers) and <c>/readyz</c> (ready for work: that, and the migration
/// controller answering).
/// </summary>
public static class MigrationEndpoints
{
    /// <summary>How the JSON endpoints write: camelCase, enums by name.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() }, WriteIndented = false };

    /// <summary>Maps every endpoint.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var page = ReadPage();
        app.MapGet("/migration", () => Results.Content(page, "text/html; charset=utf-8"));
        app.MapGet("/api/status", (MigrationWatch watch) => watch.Status is { } status
            ? Results.Json(new
            {
                at = watch.StatusAt,
                fresh = watch.Fresh,
                phase = MigrationPhases.Name(status.Config.Phase),
                status,
                backendHealth = watch.BackendHealth(),
                recentFailures = watch.RecentFailures.Select(f => new
                {
                    jobId = f.JobId, cause = f.Cause?.ToString().ToLowerInvariant(), error = f.Error, backend = f.Route?.Primary, finishedAt = f.FinishedAt,
                }),
                history = Thin(watch.History(), 300),
            }, Json)
            : Results.Json(new { status = (object?)null, message = "the controller has not answered yet" }, Json, statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/api/history", (MigrationWatch watch) => Results.Json(watch.History(), Json));
        app.MapGet("/api/audit", async (IGrainFactory grains, long? after, int? limit) =>
            Results.Json(await grains.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey).GetAudit(after, null, Math.Clamp(limit ?? 100, 1, 1000)), Json));
        app.MapGet("/healthz", Health.CheckAsync);
        app.MapGet("/readyz", async (ISiloStatusOracle membership, ClusterStore store, MigrationWatch watch, CancellationToken cancellation) =>
        {
            var alive = await Health.CheckAsync(membership, store, cancellation);
            var ready = membership.CurrentStatus == SiloStatus.Active && watch.Fresh && alive is IStatusCodeHttpResult { StatusCode: StatusCodes.Status200OK };
            return Results.Json(new { status = ready ? "ready" : "not ready", silo = membership.CurrentStatus.ToString().ToLowerInvariant(), controller = watch.Fresh ? "answering" : "not answering" },
                Json, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
    }

    /// <summary>At most <paramref name="points"/> samples, evenly spread, always with the latest.</summary>
    private static IReadOnlyList<MigrationSample> Thin(IReadOnlyList<MigrationSample> samples, int points)
    {
        if (samples.Count <= points)
        {
            return samples;
        }

        var step = (double)samples.Count / points;
        return [.. Enumerable.Range(0, points - 1).Select(i => samples[(int)(i * step)]), samples[^1]];
    }

    private static string ReadPage()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("migration.html")
                           ?? throw new InvalidOperationException("migration.html is not embedded in the silo assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
