using HeavyOptimizer.Grains.Storage;
using Microsoft.AspNetCore.Http;
using Orleans.Runtime;

namespace HeavyOptimizer.Silo;

/// <summary>
/// <c>GET /healthz</c> on the dashboard port, for load balancers and Kubernetes probes: 200 when this silo is an active
/// member of its cluster and its database answers within 3 s, else 503; the body says which.
/// </summary>
internal static class Health
{
    public static async Task<IResult> CheckAsync(ISiloStatusOracle membership, ClusterStore store, CancellationToken cancellation)
    {
        var active = membership.CurrentStatus == SiloStatus.Active;
        string database;
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            limit.CancelAfter(TimeSpan.FromSeconds(3));
            await store.SummaryAsync(limit.Token);
            database = "ok";
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
        {
            database = $"unreachable: {e.GetType().Name}";
        }

        var healthy = active && database == "ok";
        return Results.Json(
            new { status = healthy ? "healthy" : "unhealthy", silo = membership.CurrentStatus.ToString().ToLowerInvariant(), database },
            statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
