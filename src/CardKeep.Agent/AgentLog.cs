using CardKeep.Agent.Keys;
using Microsoft.Extensions.Logging;

namespace CardKeep.Agent;

/// <summary>
/// Every log line the agent writes (source-generated). Lines name users by uid, keys by fingerprint and cards by reader
/// and serial; never a PIN, passphrase, key byte or signed data.
/// </summary>
internal static partial class AgentLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: message type {Type} refused: the agent is locked for this user")]
    public static partial void RefusedWhileLocked(ILogger logger, byte type, uint uid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: malformed message type {Type}: {Problem}")]
    public static partial void BadMessage(ILogger logger, byte type, uint uid, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: message type {Type} failed in the crypto layer: {Problem}")]
    public static partial void CryptoFailed(ILogger logger, byte type, uint uid, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: card operation failed: {Problem}")]
    public static partial void CardFailed(ILogger logger, uint uid, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "uid {Uid}: sign request for a key this user does not have")]
    public static partial void SignUnknownKey(ILogger logger, uint uid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: forwarded use of {Fingerprint} refused (forwarding policy deny)")]
    public static partial void ForwardedRefused(ILogger logger, string fingerprint, uint uid);

    [LoggerMessage(Level = LogLevel.Information, Message = "uid {Uid} pid {Pid}: signed with {Fingerprint} ({Source}), forwarded={Forwarded}, flags={Flags}")]
    public static partial void Signed(ILogger logger, string fingerprint, KeySource source, uint uid, int pid, bool forwarded, uint flags);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: key not added: locked, or the limit of {Limit} added keys is reached")]
    public static partial void AddRefused(ILogger logger, uint uid, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "uid {Uid}: added {Fingerprint} (lifetime {Lifetime} s, 0 = none; confirm={Confirm})")]
    public static partial void Added(ILogger logger, string fingerprint, uint uid, double lifetime, bool confirm);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: key constraint {Constraint} is not supported; the key was not added")]
    public static partial void UnsupportedConstraint(ILogger logger, string constraint, uint uid);

    [LoggerMessage(Level = LogLevel.Information, Message = "uid {Uid}: {Fingerprint} belongs to a login session; end it with 'cardkeep logout' instead of ssh-add -d")]
    public static partial void RemoveSessionKey(ILogger logger, string fingerprint, uint uid);

    [LoggerMessage(Level = LogLevel.Information, Message = "uid {Uid}: {What}")]
    public static partial void LockChanged(ILogger logger, uint uid, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "uid {Uid}: unknown extension '{Name}'")]
    public static partial void UnknownExtension(ILogger logger, string name, uint uid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: session-bind refused: {Reason}")]
    public static partial void SessionBindRefused(ILogger logger, uint uid, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "uid {Uid}: connection bound to host key {Fingerprint}, forwarding={Forwarding}")]
    public static partial void SessionBound(ILogger logger, uint uid, string fingerprint, bool forwarding);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: smartcard provider message {Type} refused: this agent reads PIV cards itself over PC/SC; log in with 'cardkeep login' (ssh-add -s/-e are not supported)")]
    public static partial void SmartcardMessage(ILogger logger, byte type, uint uid);

    [LoggerMessage(Level = LogLevel.Information, Message = "uid {Uid}: unknown message type {Type}")]
    public static partial void UnknownMessage(ILogger logger, byte type, uint uid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: use of {Fingerprint} needs confirmation but no confirm program is configured (--confirm-command); refused")]
    public static partial void ConfirmWithoutProgram(ILogger logger, string fingerprint, uint uid);

    [LoggerMessage(Level = LogLevel.Information, Message = "uid {Uid}: confirm program answered for {Fingerprint}: allowed={Allowed}")]
    public static partial void ConfirmAnswered(ILogger logger, string fingerprint, uint uid, bool allowed);

    [LoggerMessage(Level = LogLevel.Error, Message = "confirm program {Program} could not run: {Problem}")]
    public static partial void ConfirmProgramFailed(ILogger logger, string program, string problem);
}
