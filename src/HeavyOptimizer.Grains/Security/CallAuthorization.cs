using System.Collections.Concurrent;
using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace HeavyOptimizer.Grains.Security;

/// <summary>
/// The silo's incoming call filter: every call to a grain must carry a <see cref="CallerProof"/> (a client's
/// certificate and signature, or a silo's key), and its caller's role must allow the method (<see cref="Required"/>);
/// the verified caller is put in the request context for the grain (<see cref="CallerProof.Current"/>). Orleans' own
/// system targets (membership, directory, reminders) and reminder ticks need a silo's proof, except the cluster manifest
/// a client reads when it connects (<see cref="ClientSystemCalls"/>); a timer's tick (a message from a grain to itself)
/// needs none. A refusal throws <see cref="AccessDeniedException"/>, and is logged and audited by the migration
/// controller at most once a minute per caller and kind (<see cref="RefusalInterval"/>).
/// </summary>
public sealed partial class CallAuthorization(ClusterSecurity security, IGrainFactory grains, TimeProvider time, ILogger<CallAuthorization> logger) : IIncomingGrainCallFilter
{
    /// <summary>How often one caller's refusals of one kind are logged and audited; the rest are counted into the next entry.</summary>
    public static readonly TimeSpan RefusalInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, (DateTimeOffset Since, int Suppressed)> _refusals = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var method = context.InterfaceMethod;
        var grain = method.DeclaringType!;
        if (grain.FullName == "Orleans.Runtime.IGrainTimerInvoker" && context.SourceId == context.TargetId)
        {
            // A grain's or system target's own timer firing: a message from itself to itself, never from a connection.
            await context.Invoke();
            return;
        }

        var name = $"{grain.FullName}.{method.Name}";
        var what = context.TargetId.IsSystemTarget() ? name : $"{grain.Name.TrimStart('I').Replace("Grain", string.Empty, StringComparison.Ordinal)}.{method.Name}";
        Caller caller;
        try
        {
            caller = CallerProof.Verify(RequestContext.Get(CallerProof.ProofKey) as string, security.Authority!, security.SiloKey, CallerProof.TargetOf(context.TargetId), name, time.GetUtcNow());
        }
        catch (AccessDeniedException e)
        {
            Refuse("unverified", what, $"a call to {what} without a valid proof of identity: {e.Message}");
            throw;
        }

        var required = context.TargetId.IsSystemTarget() || grain == typeof(IRemindable)
            ? (ClientSystemCalls.Contains(grain.FullName!) ? Role.Submitter : Role.Silo)
            : Required(grain, method.Name, context.Request.GetArgumentCount() > 0 ? context.Request.GetArgument(0) : null);
        if (caller.Role < required)
        {
            var refusal = $"{caller} may not call {what}: {required.ToString().ToLowerInvariant()}s only";
            Refuse(caller.Name, what, refusal);
            throw new AccessDeniedException(refusal);
        }

        RequestContext.Set(CallerProof.CallerKey, $"{caller.Role}:{caller.Name}");
        try
        {
            await context.Invoke();
        }
        catch (AccessDeniedException e)
        {
            // A grain's own refusal (a submitter cancelling another's job) is audited like the filter's.
            Refuse(caller.Name, what, e.Message);
            throw;
        }
    }

    /// <summary>Orleans' system targets a client calls itself (the cluster manifest it reads when it connects); every other system call is the silos' own.</summary>
    public static readonly IReadOnlySet<string> ClientSystemCalls = new HashSet<string>(StringComparer.Ordinal) { "Orleans.Runtime.IClusterManifestSystemTarget" };

    /// <summary>
    /// Logs and audits a refusal, at most once per <see cref="RefusalInterval"/> for one caller and one kind of call
    /// (a flood of refused calls must not flood the audit); the entry says how many were refused since the last.
    /// </summary>
    private void Refuse(string caller, string what, string refusal)
    {
        var now = time.GetUtcNow();
        var key = $"{caller}\n{what}";
        var suppressed = 0;
        var due = false;
        _refusals.AddOrUpdate(key, _ => { due = true; return (now, 0); }, (_, last) =>
        {
            if (now - last.Since < RefusalInterval)
            {
                return (last.Since, last.Suppressed + 1);
            }

            (due, suppressed) = (true, last.Suppressed);
            return (now, 0);
        });
        if (!due)
        {
            return;
        }

        var entry = suppressed > 0 ? $"{refusal} (and {suppressed} more such calls refused in the {RefusalInterval.TotalMinutes:0} minute(s) before)" : refusal;
        LogRefused(caller, what, entry);
        if (_refusals.Count > 10_000)
        {
            _refusals.Clear();
        }

        // Not awaited: the refused call may be on the controller itself, whose turn this is.
        _ = grains.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey).AuditRefusal(caller, what, entry)
            .ContinueWith(t => LogAuditLost(t.Exception!.GetBaseException().Message), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    /// <summary>
    /// The role a method needs. Reading (status, jobs, the audit) and submitting: submitters. Changing the migration,
    /// replaying, running a job on a chosen backend: operators. What only the cluster does to itself (outcomes, running
    /// jobs, backend compute, replay notes): silos. Any other grain (Orleans' own) from outside: operators.
    /// </summary>
    public static Role Required(Type grain, string method, object? firstArgument)
    {
        ArgumentNullException.ThrowIfNull(grain);
        if (grain == typeof(IMigrationControllerGrain))
        {
            return method switch
            {
                nameof(IMigrationControllerGrain.GetConfig) or nameof(IMigrationControllerGrain.RouteFor) or nameof(IMigrationControllerGrain.GetStatus)
                    or nameof(IMigrationControllerGrain.GetAudit) => Role.Submitter,
                nameof(IMigrationControllerGrain.Record) or nameof(IMigrationControllerGrain.RecordBackfill) or nameof(IMigrationControllerGrain.AuditRefusal) => Role.Silo,
                _ => Role.Operator,
            };
        }

        if (grain == typeof(IJobGrain))
        {
            return method switch
            {
                nameof(IJobGrain.NoteReplay) or nameof(IJobGrain.Begin) or nameof(IJobGrain.Report) or nameof(IJobGrain.Finish) => Role.Silo,
                nameof(IJobGrain.Submit) or nameof(IJobGrain.Check) when firstArgument is JobSpec { ReplayOf: not null } or JobSpec { BackendOverride: not null } or JobSpec { ShadowOf: not null } => Role.Operator,
                _ => Role.Submitter,
            };
        }

        return grain == typeof(IUploadGrain) || grain == typeof(IJobIndexGrain) ? Role.Submitter : grain == typeof(IBackendGrain) ? Role.Silo : Role.Operator;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Access refused: {Caller} called {What}: {Reason}")]
    private partial void LogRefused(string caller, string what, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A refused call could not be audited: {Reason}")]
    private partial void LogAuditLost(string reason);
}

/// <summary>The silo's outgoing call filter: every call a silo makes (grains, reminders, the dashboard) carries the silos' proof.</summary>
public sealed class SiloCallProof(ClusterSecurity security, TimeProvider time) : IOutgoingGrainCallFilter
{
    /// <inheritdoc />
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var method = context.InterfaceMethod;
        RequestContext.Set(CallerProof.ProofKey, CallerProof.SignAsSilo(security.SiloKey, CallerProof.TargetOf(context.TargetId), $"{method.DeclaringType!.FullName}.{method.Name}", time.GetUtcNow()));
        return context.Invoke();
    }
}
