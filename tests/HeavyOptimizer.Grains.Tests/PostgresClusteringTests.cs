using System.Net;
using HeavyOptimizer.Silo;
using HeavyOptimizer.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>
/// The project's PostgreSQL schema under Orleans' own ADO.NET membership table, call by call, including the paths a
/// happy cluster rarely takes: stale versions refused, a dead silo's row cleaned up, the deployment deleted.
/// </summary>
public sealed class PostgresClusteringTests : IDisposable
{
    private string? _database;

    public void Dispose()
    {
        if (_database is not null)
        {
            TestPostgres.DropDatabase(_database);
        }
    }

    [SkippableFact]
    public async Task Membership_calls_keep_the_version_contract_on_postgres()
    {
        _database = TestPostgres.CreateDatabase();
        // Silos starting together apply the schema together, on a database that has none yet; then again: idempotent.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => DatabaseSchema.ApplyAsync("postgres", _database)));
        await DatabaseSchema.ApplyAsync("postgres", _database);
        DatabaseSchema.RegisterProviders();
        var table = new AdoNetClusteringTable(new ServiceCollection().BuildServiceProvider(),
            Options.Create(new ClusterOptions { ClusterId = "contract", ServiceId = "contract" }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = DatabaseSchema.PostgresInvariant, ConnectionString = _database }),
            NullLogger<AdoNetClusteringTable>.Instance);
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);

        var empty = await table.ReadAllAsync();
        Assert.Empty(empty.Members);
        var silo = SiloAddress.New(IPAddress.Loopback, 11111, 7);
        var now = DateTime.UtcNow;
        var entry = new MembershipEntry
        {
            SiloAddress = silo, SiloName = "silo-a", HostName = "host-a", Status = SiloStatus.Active, ProxyPort = 30000,
            StartTime = now.AddMinutes(-10), IAmAliveTime = now.AddMinutes(-10),
        };
        Assert.True(await table.InsertRowAsync(entry, empty.Version.Next()));
        Assert.False(await table.InsertRowAsync(entry, empty.Version.Next())); // stale version, and the row exists

        var one = await table.ReadRowAsync(silo);
        var (read, etag) = Assert.Single(one.Members);
        Assert.Equal(("silo-a", SiloStatus.Active, 30000), (read.SiloName, read.Status, read.ProxyPort));
        Assert.Equal(1, one.Version.Version);

        await table.UpdateIAmAliveAsync(new MembershipEntry { SiloAddress = silo, IAmAliveTime = now.AddMinutes(-5) });
        read.Status = SiloStatus.Dead;
        read.SuspectTimes = [Tuple.Create(SiloAddress.New(IPAddress.Loopback, 11112, 8), now.AddMinutes(-6))];
        Assert.True(await table.UpdateRowAsync(read, etag, one.Version.Next()));
        Assert.False(await table.UpdateRowAsync(read, etag, one.Version.Next())); // the table moved on since it was read
        var dead = Assert.Single((await table.ReadAllAsync()).Members).Item1;
        Assert.Equal(SiloStatus.Dead, dead.Status);
        Assert.Single(dead.SuspectTimes!);

        await table.CleanupDefunctSiloEntriesAsync(DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.Empty((await table.ReadAllAsync()).Members);

        await table.DeleteMembershipTableEntriesAsync("contract");
        Assert.Equal(0L, TestPostgres.Scalar(_database, "SELECT count(*) FROM OrleansMembershipVersionTable"));
    }
}
