using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Jobs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeavyOptimizer.Silo.Share;

/// <summary>The legacy file-drop share a silo serves (<c>--share DIR</c>, section <c>Share</c> of the settings).</summary>
public sealed class ShareOptions
{
    /// <summary>The share's root (holding <c>jobs/</c>, <c>input/</c>, <c>output/</c>); null: no share.</summary>
    public string? Directory { get; set; }

    /// <summary>How often the queue and the claimed jobs are looked at.</summary>
    public TimeSpan Poll { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a queued file's size and time must stay unchanged before it is taken (clients write in place).</summary>
    public TimeSpan StableFor { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a queued file may stay unreadable (not JSON, still being written) before it is failed.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A claimed file whose silo has not touched it for this long is adopted by another.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A one-line message for each setting that cannot work.</summary>
    public IEnumerable<string> Problems()
    {
        if (Poll <= TimeSpan.Zero || StableFor < TimeSpan.Zero || Grace < StableFor)
        {
            yield return $"share poll {Poll}, stable-for {StableFor}, grace {Grace}: poll more than 0, grace at least stable-for";
        }

        if (Lease < 3 * Poll)
        {
            yield return $"share lease {Lease}: at least three polls ({3 * Poll}), or a live silo's files would be adopted";
        }
    }
}

/// <summary>
/// Serves the legacy Windows clients' file-drop protocol (SPEC section 8) from the cluster. A client writes
/// <c>jobs/queue/ID.json</c> in place, in pieces, in its console's code page; once the file parses and has stopped
/// changing it is claimed by an atomic rename into <c>jobs/processing/</c> (two silos never both take it) and submitted
/// as cluster job ID (so a file seen again is the same job). The answer is written atomically, never over another, to
/// <c>jobs/completed/ID.json</c> or <c>jobs/failed/ID.json</c>: the client's fields plus <c>execution_time</c>,
/// <c>completion_timestamp</c>, <c>return_code</c>, <c>backend</c>, <c>output_dir</c> (and <c>consistency</c>,
/// <c>error</c>). A claimed file is touched at every poll by the silo following it; one untouched for
/// <see cref="ShareOptions.Lease"/> (its silo died, or the legacy processor left it) is adopted by any silo, which
/// submits it again (idempotent) and answers it. A file that never parses, names an input outside <c>input/</c> or a
/// missing one, or asks for what a job may not is failed with the reason, its fields kept.
/// </summary>
internal sealed partial class ShareIngress(IGrainFactory grains, IOptions<ShareOptions> options, TimeProvider time, ILogger<ShareIngress> logger) : BackgroundService
{
    /// <summary>The largest job file taken: the launcher writes a few hundred bytes; anything far larger is not a job file.</summary>
    public const long MaxFileBytes = 64 * 1024;

    // Answers keep the client's text as it wrote it (apostrophes, accents), so a batch file's findstr still matches.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Dictionary<string, Seen> _seen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _following = new(StringComparer.Ordinal);

    private ShareOptions Options => options.Value;

    private string Root => Options.Directory!;

    private string Jobs(string folder) => Path.Combine(Root, "jobs", folder);

    /// <summary>The folders of a share, made if missing.</summary>
    public static void Prepare(string root)
    {
        foreach (var folder in new[] { "jobs/queue", "jobs/processing", "jobs/completed", "jobs/failed", "input", "output" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(root, folder));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Prepare(Root);
        LogServing(Root);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await TakeQueuedAsync(stoppingToken);
                await FollowClaimedAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The share (SMB) or the cluster may be away for a moment: nothing is moved until they are back.
                LogPollFailed(e.Message);
            }

            await Task.Delay(Options.Poll, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task TakeQueuedAsync(CancellationToken cancellation)
    {
        var now = time.GetUtcNow();
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in System.IO.Directory.EnumerateFiles(Jobs("queue"), "*.json"))
        {
            var name = Path.GetFileName(path);
            present.Add(name);
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                continue;
            }

            var (size, written) = (file.Length, file.LastWriteTimeUtc);
            var seen = _seen.TryGetValue(name, out var before) ? before : new Seen(size, written, now, now);
            if (seen.Size != size || seen.Written != written)
            {
                seen = new Seen(size, written, seen.FirstSeen, now);
            }

            _seen[name] = seen;
            if (now - seen.StableSince < Options.StableFor)
            {
                continue;
            }

            var parsed = Parse(path, out var problem);
            if (parsed is null && now - seen.FirstSeen < Options.Grace)
            {
                continue; // perhaps still being written: give it the grace period
            }

            var claimed = Path.Combine(Jobs("processing"), name);
            try
            {
                File.Move(path, claimed);
            }
            catch (IOException)
            {
                continue; // another silo took it, or the client is still writing it
            }

            _seen.Remove(name);
            if (parsed is null)
            {
                await AnswerAsync(name, Unreadable(claimed), null, $"{name}: not a job file: {problem}", 2);
                continue;
            }

            await SubmitAsync(name, parsed, cancellation);
        }

        foreach (var gone in _seen.Keys.Where(k => !present.Contains(k)).ToList())
        {
            _seen.Remove(gone);
        }
    }

    private async Task FollowClaimedAsync(CancellationToken cancellation)
    {
        var now = time.GetUtcNow();
        foreach (var path in System.IO.Directory.EnumerateFiles(Jobs("processing"), "*.json"))
        {
            var name = Path.GetFileName(path);
            if (!_following.Contains(name))
            {
                if (now - File.GetLastWriteTimeUtc(path) < Options.Lease)
                {
                    continue;
                }

                // Untouched for a lease: its silo died, or the legacy processor left it. Taking it over is submitting
                // it again (the same job) and answering it; should two silos adopt it at once, one answer wins.
                LogAdopted(name);
                await (Parse(path, out var problem) is { } orphan
                    ? SubmitAsync(name, orphan, cancellation)
                    : AnswerAsync(name, Unreadable(path), null, $"{name}: not a job file: {problem}", 2));
                continue;
            }

            var status = await grains.GetGrain<IJobGrain>(JobIdOf(name)).GetStatus();
            if (status is not { IsFinished: true })
            {
                File.SetLastWriteTimeUtc(path, now.UtcDateTime);
                continue;
            }

            var fields = Parse(path, out _) ?? JsonNode.Parse("{}")!.AsObject();
            var code = status.State == JobState.Completed ? 0 : status.Cause == FailureCause.Input ? 2 : 1;
            await AnswerAsync(name, fields, status, status.Error, code);
        }
    }

    private async Task SubmitAsync(string name, JsonObject fields, CancellationToken cancellation)
    {
        var id = JobIdOf(name);
        JobSpec spec;
        try
        {
            spec = SpecOf(name, fields);
            await grains.GetGrain<IJobGrain>(id).Submit(spec);
        }
        catch (Exception e) when (e is InvalidJobException or ArgumentException or FormatException)
        {
            await AnswerAsync(name, fields, null, e.Message, 2);
            return;
        }

        _following.Add(name);
        LogClaimed(name, id, spec.InputPath, spec.PortfolioSize);
        cancellation.ThrowIfCancellationRequested();
    }

    /// <summary>The job a legacy file asks for: its input a bare name under <c>input/</c>, its size 10..100.</summary>
    private JobSpec SpecOf(string name, JsonObject fields)
    {
        if (fields["job_type"] is JsonValue type && type.TryGetValue<string>(out var kind) && kind != "complete_optimization")
        {
            throw new ArgumentException($"job_type '{kind}': this server runs complete_optimization jobs only");
        }

        if (fields["job_id"] is JsonValue given && given.TryGetValue<string>(out var claimed) && claimed != JobIdOf(name))
        {
            throw new ArgumentException($"job_id '{claimed}' differs from the file's name {name}: the client polls by the file's name, so they must agree");
        }

        var input = fields["input_file"] is JsonValue v && v.TryGetValue<string>(out var text) ? text.Trim() : null;
        if (string.IsNullOrEmpty(input) || input != Path.GetFileName(input) || input is "." or ".." || input.Contains('\\', StringComparison.Ordinal) || input.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"input_file '{input}': a bare file name under the share's input/ folder");
        }

        var path = Path.Combine(Root, "input", input);
        if (!File.Exists(path))
        {
            throw new ArgumentException($"input_file '{input}': no such file in the share's input/ folder");
        }

        var size = fields["portfolio_size"] switch
        {
            JsonValue n when n.TryGetValue<int>(out var i) => i,
            JsonValue s when s.TryGetValue<string>(out var t) && int.TryParse(t.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) => i,
            var other => throw new ArgumentException($"portfolio_size '{other?.ToJsonString()}': a whole number 10..100"),
        };
        return new JobSpec { InputPath = path, PortfolioSize = size };
    }

    /// <summary>
    /// Writes the answer beside nothing else: to a temporary name, then renamed to <c>completed/</c> or <c>failed/</c>
    /// without replacing one already there (another silo's answer to the same job wins); then the claim is removed.
    /// </summary>
    private async Task AnswerAsync(string name, JsonObject fields, JobStatus? status, string? error, int code)
    {
        var answer = fields.DeepClone().AsObject();
        answer["job_id"] ??= JobIdOf(name);
        var end = status?.FinishedAt ?? time.GetUtcNow();
        answer["execution_time"] = status?.StartedAt is { } started ? Math.Round((end - started).TotalSeconds, 2) : 0;
        answer["completion_timestamp"] = end.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        answer["return_code"] = code;
        if (status?.Result is { } result)
        {
            answer["backend"] = result.Backend;
            answer["output_dir"] = Path.GetRelativePath(Root, result.RunDirectory).Replace('\\', '/');
            answer["best_fitness"] = result.BestFitness;
        }

        if (status?.Consistency is { } consistency)
        {
            answer["consistency"] = consistency.Summary;
        }

        if (code != 0)
        {
            answer["error"] = error ?? "the job ended without a result";
        }

        var folder = Jobs(code == 0 ? "completed" : "failed");
        var earlier = new[] { "completed", "failed" }.Select(f => Path.Combine(Jobs(f), name)).FirstOrDefault(File.Exists);
        if (earlier is not null)
        {
            // One answer per job file name: the client polls both names and takes the first it sees.
            LogAnsweredBefore(name, Path.GetRelativePath(Root, earlier), error ?? "completed");
        }
        else
        {
            var temporary = Path.Combine(folder, $".{name}.{Guid.NewGuid():N}.tmp");
            await File.WriteAllTextAsync(temporary, answer.ToJsonString(Indented), new UTF8Encoding(false));
            try
            {
                File.Move(temporary, Path.Combine(folder, name));
                if (code == 0)
                {
                    LogCompleted(name);
                }
                else
                {
                    LogFailed(name, error ?? string.Empty);
                }
            }
            catch (IOException) when (File.Exists(Path.Combine(folder, name)))
            {
                File.Delete(temporary);
            }
        }

        File.Delete(Path.Combine(Jobs("processing"), name));
        _following.Remove(name);
    }

    /// <summary>What a file that is not a job file held, kept in its answer as <c>original</c>.</summary>
    private static JsonObject Unreadable(string path) => new()
    {
        ["original"] = File.Exists(path) && new FileInfo(path).Length <= MaxFileBytes ? Encoding.Latin1.GetString(File.ReadAllBytes(path)) : null,
    };

    /// <summary>A queued file as last seen: its size and time, when it was first seen, since when it has not changed.</summary>
    private readonly record struct Seen(long Size, DateTime Written, DateTimeOffset FirstSeen, DateTimeOffset StableSince);

    private static string JobIdOf(string fileName) => Path.GetFileNameWithoutExtension(fileName);

    /// <summary>
    /// The file as JSON, read as UTF-8 when it is that and as Latin-1 otherwise (a console's code page: its bytes above
    /// 127 are never lost, only perhaps shown as another letter); null with the reason when it does not parse.
    /// </summary>
    private static JsonObject? Parse(string path, out string problem)
    {
        problem = string.Empty;
        byte[] bytes;
        try
        {
            if (new FileInfo(path).Length is var length && length > MaxFileBytes)
            {
                problem = $"{length} bytes: a job file is at most {MaxFileBytes} bytes";
                return null;
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            problem = e.Message;
            return null;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes).TrimStart('\uFEFF');
        }
        catch (DecoderFallbackException)
        {
            text = Encoding.Latin1.GetString(bytes);
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException e)
        {
            problem = Core.Messages.OneLine(e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Share ingress serving {Root}: jobs/queue -> processing -> completed | failed")]
    private partial void LogServing(string root);

    [LoggerMessage(Level = LogLevel.Information, Message = "Share job {File} claimed as job {JobId} (input {Input}, size {Size})")]
    private partial void LogClaimed(string file, string jobId, string input, int size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Share job {File} in processing/ had no live silo: adopted")]
    private partial void LogAdopted(string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "Share job {File} answered: completed")]
    private partial void LogCompleted(string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Share job {File} failed: {Error}")]
    private partial void LogFailed(string file, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Share job {File} was answered before ({Earlier}); the earlier answer stands and this one is dropped: {Outcome}")]
    private partial void LogAnsweredBefore(string file, string earlier, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Share ingress: a poll failed, retried at the next: {Reason}")]
    private partial void LogPollFailed(string reason);
}
