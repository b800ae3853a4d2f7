using System.ComponentModel;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace CardKeep.Agent.Daemon;

/// <summary>What a confirm program is asked about.</summary>
public sealed record ConfirmRequest(PeerCredentials Peer, string Comment, string Fingerprint, bool Forwarded);

/// <summary>Asks whether one use of a key constrained with confirm (ssh-add -c) may go ahead.</summary>
public interface IConfirmer
{
    bool Confirm(ConfirmRequest request);
}

/// <summary>
/// Runs the configured confirm program (an SSH_ASKPASS-like command, <c>--confirm-command</c>) with placeholders
/// {comment} {fingerprint} {uid} {pid} {forwarded}; exit 0 allows the use. With no program configured every confirm-
/// constrained use is refused and the log says why.
/// </summary>
public sealed class CommandConfirmer(CommandTemplate? command, ILogger logger, TimeSpan? timeout = null) : IConfirmer
{
    public bool Confirm(ConfirmRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (command is null)
        {
            AgentLog.ConfirmWithoutProgram(logger, request.Fingerprint, request.Peer.Uid);
            return false;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["comment"] = request.Comment,
            ["fingerprint"] = request.Fingerprint,
            ["uid"] = request.Peer.Uid.ToString(CultureInfo.InvariantCulture),
            ["pid"] = request.Peer.Pid.ToString(CultureInfo.InvariantCulture),
            ["forwarded"] = request.Forwarded ? "yes" : "no",
        };
        try
        {
            int code = command.RunAsync(values, timeout ?? TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
            AgentLog.ConfirmAnswered(logger, request.Fingerprint, request.Peer.Uid, code == 0);
            return code == 0;
        }
        catch (Win32Exception e)
        {
            AgentLog.ConfirmProgramFailed(logger, command.Arguments[0], e.Message);
            return false;
        }
    }
}
