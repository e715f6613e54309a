using HeavyOptimizer.Backends.HeavyDb;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Backends.Tests;

public class HeavyDbTests
{
    [Fact]
    public void Url_parses_with_heavydb_defaults_and_never_shows_the_password()
    {
        var full = HeavyDbConnection.Parse("heavydb://ops:s%40cret@db.local:7000/prod?protocol=http");
        Assert.Equal(("db.local", 7000, "ops", "s@cret", "prod", "http"), (full.Host, full.Port, full.User, full.Password, full.Database, full.Protocol));
        Assert.DoesNotContain("cret", full.ToString(), StringComparison.Ordinal);

        var bare = HeavyDbConnection.Parse("heavydb://gpu-host");
        Assert.Equal((6274, "admin", "HyperInteractive", "heavyai", "binary"), (bare.Port, bare.User, bare.Password, bare.Database, bare.Protocol));
        Assert.Equal(6278, HeavyDbConnection.Parse("heavydb://gpu-host?protocol=http").Port);
    }

    [Theory]
    [InlineData("postgres://x")]
    [InlineData("heavydb://host?protocol=grpc")]
    [InlineData("not a url")]
    public void Bad_urls_are_rejected_without_echoing_secrets(string url)
    {
        var e = Assert.Throws<ArgumentException>(() => HeavyDbConnection.Parse(url));
        Assert.Contains("heavydb", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Literals_escape_quotes_and_refuse_nul()
    {
        Assert.Equal("'O''Brien''s'", SqlDialect.Literal("O'Brien's"));
        Assert.Equal("DATE '2024-01-04'", SqlDialect.Literal(new DateOnly(2024, 1, 4)));
        Assert.Throws<ArgumentException>(() => SqlDialect.Literal("a\0b"));
    }

    [Fact]
    public void Dialects_differ_only_where_heavydb_and_the_embedded_engine_do()
    {
        Assert.Equal("CREATE TABLE t (a TEXT ENCODING DICT(32), b DOUBLE) WITH (fragment_size = 32000000)",
            SqlDialect.HeavyDb.CreateTable("t", ("a", "TEXT"), ("b", "DOUBLE")));
        Assert.Equal("CREATE TABLE t (a VARCHAR, b DOUBLE)", SqlDialect.DuckDb.CreateTable("t", ("a", "TEXT"), ("b", "DOUBLE")));
        Assert.Equal("CORR(x, y)", SqlDialect.HeavyDb.Correlation("x", "y"));
    }

    [Fact]
    public async Task Engine_correlation_is_null_as_zero_for_a_constant_strategy_and_matches_the_engine()
    {
        using var dir = new TempDirectory();
        await using var backend = await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = "embedded", DataDirectory = dir.Path });
        var matrix = Some.Matrix([1, 2, 3, 5], [7, 7, 7, 7], [2, 1, 4, 3]);
        var stored = await backend.IngestAsync(dir.File("c.csv", Some.Csv(matrix)));
        var model = new Core.Fitness.FitnessModel(matrix, Core.Fitness.FitnessOptions.Default);

        Assert.Equal(0, await backend.CorrelationAsync(stored.Fingerprint, 0, 1));
        Assert.Equal(model.Correlation(0, 2), await backend.CorrelationAsync(stored.Fingerprint, 0, 2), 12);
        Assert.True(backend.IsEmbedded);
        Assert.Contains("embedded DuckDB standing in for HeavyDB", backend.Engine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_embedded_database_file_is_named_in_a_one_line_error_and_left_as_it_is()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "heavydb-embedded", "hopt.duckdb");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var garbage = Enumerable.Range(0, 20_000).Select(i => (byte)(i * 7)).ToArray();
        File.WriteAllBytes(file, garbage);

        // Opening may already read the file; either way the error is the file's, not a query's.
        var e = await Assert.ThrowsAsync<BackendException>(async () =>
        {
            await using var backend = await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = "embedded", DataDirectory = dir.Path });
            await backend.ListAsync();
        });

        Assert.Contains($"cannot open {file}", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SQL", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(garbage, File.ReadAllBytes(file));
    }

    [Fact]
    public async Task Files_of_an_abandoned_creation_of_the_embedded_database_are_removed_when_it_is_made()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "heavydb-embedded", "hopt.duckdb");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var abandoned = new[] { $"{file}.{Guid.NewGuid():N}.new", $"{file}.{Guid.NewGuid():N}.new.wal" };
        var live = $"{file}.{Guid.NewGuid():N}.new";
        foreach (var path in abandoned.Append(live))
        {
            File.WriteAllBytes(path, new byte[12_288]);
        }

        foreach (var path in abandoned)
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow - TimeSpan.FromMinutes(5));
        }

        await using var backend = await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = "embedded", DataDirectory = dir.Path });
        await backend.IngestAsync(dir.File("a.csv", Some.Csv(Some.RandomMatrix(10, 4, 2))));

        Assert.True(File.Exists(file));
        Assert.All(abandoned, path => Assert.False(File.Exists(path), path));
        Assert.True(File.Exists(live), "a creation under way this minute is another process's");
    }

    [Fact]
    public async Task An_unreachable_server_is_a_clear_error_without_the_password()
    {
        var e = await Assert.ThrowsAsync<BackendException>(() => HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = "heavydb://admin:topsecret@127.0.0.1:1/heavyai" }));
        Assert.Contains("127.0.0.1:1", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("topsecret", e.Message, StringComparison.Ordinal);
    }
}
