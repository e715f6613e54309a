using System.Net;
using System.Net.Sockets;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Backends.HeavyDb.StandIn;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Grains.Jobs;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HeavyOptimizer.Grains.Tests;

public sealed class BackendProviderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_backend_whose_server_was_down_opens_once_the_server_is_up_after_its_backoff()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var provider = new BackendProvider(Options.Create(new BackendHostOptions
        {
            DataDirectory = _dir.Path,
            HeavyDbUrl = $"heavydb://admin:HyperInteractive@127.0.0.1:{port}/heavyai?connect_timeout=2",
        }), time);

        var down = await Assert.ThrowsAsync<BackendException>(() => provider.GetAsync("heavydb", CancellationToken.None));
        Assert.Contains("cannot reach HeavyDB", down.Message, StringComparison.Ordinal);
        await using var server = await HeavyDbStandInServer.StartAsync(new HeavyDbStandInOptions { DataDirectory = Path.Combine(_dir.Path, "server"), BinaryPort = port });

        // Within the backoff the last error comes back at once; after it, the backend opens.
        var waiting = await Assert.ThrowsAsync<BackendException>(() => provider.GetAsync("heavydb", CancellationToken.None));
        Assert.Contains("next attempt at", waiting.Message, StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(1));
        var backend = await provider.GetAsync("heavydb", CancellationToken.None);

        Assert.True((await backend.HealthAsync()).Healthy);
        Assert.Same(backend, await provider.GetAsync("heavydb", CancellationToken.None));
    }
}
