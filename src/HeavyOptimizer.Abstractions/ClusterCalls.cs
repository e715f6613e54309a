using Orleans.Runtime.Messaging;

namespace HeavyOptimizer.Abstractions;

/// <summary>
/// Calls into the cluster that ride out a silo's death: until a dead silo is declared dead (about 15-30 s with default
/// membership settings), calls to grains it hosted fail; after, the grains come back on live silos. Clients and grains
/// alike retry such failures for a while instead of failing what they were doing.
/// </summary>
public static class ClusterCalls
{
    /// <summary>How long work inside the cluster rides out a dead silo: comfortably more than it takes to declare one dead.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(1);

    /// <summary>Whether <paramref name="e"/> is a failure that a retry after the silo's replacement cures.</summary>
    public static bool IsTransient(Exception e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or ConnectionFailedException;

    /// <summary>
    /// Calls, retrying transient failures once a second until <paramref name="window"/> has passed; a call that timed out
    /// is retried only when <paramref name="retryTimeouts"/> (a slow answer is not a dead silo).
    /// </summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> call, TimeSpan window, CancellationToken cancellation = default, bool retryTimeouts = true)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deadline = DateTimeOffset.UtcNow + window;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (IsTransient(e) && (retryTimeouts || e is not TimeoutException) && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellation);
            }
        }
    }

    /// <summary>The same for a call without a result.</summary>
    public static Task RetryAsync(Func<Task> call, TimeSpan window, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        return RetryAsync(async () =>
        {
            await call();
            return true;
        }, window, cancellation);
    }
}
