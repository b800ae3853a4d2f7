namespace CardKeep.Server.Accounts;

#pragma warning disable CA1819 // Request/response records carry base64 byte strings as byte[] (System.Text.Json's encoding).

/// <summary>Bearer scopes.</summary>
public static class AccountScopes
{
    /// <summary>Card sign-in.</summary>
    public const string Card = "card";

    /// <summary>Password sign-in or recovery.</summary>
    public const string Recovery = "recovery";
}

/// <summary>A card-proof challenge request.</summary>
/// <param name="Username">User.</param>
/// <param name="CardSerial">Card serial.</param>
/// <param name="Purpose">register, login or replace.</param>
public sealed record ChallengeRequest(string? Username, string? CardSerial, string? Purpose);

/// <summary>A nonce to sign.</summary>
/// <param name="Nonce">32 random bytes.</param>
/// <param name="ExpiresAt">Expiry.</param>
public sealed record ChallengeResponse(byte[] Nonce, DateTimeOffset ExpiresAt);

/// <summary>A card with its proof.</summary>
/// <param name="Serial">PIV serial.</param>
/// <param name="PublicKey">DER SPKI of the 9A key.</param>
/// <param name="TokenSerial">The card's TRK1 token serial (32 hex digits), optional.</param>
/// <param name="Nonce">Nonce from /challenge.</param>
/// <param name="Signature">Signature over the CardProof message.</param>
public sealed record CardProofRequest(string? Serial, byte[]? PublicKey, string? TokenSerial, byte[]? Nonce, byte[]? Signature);

/// <summary>A machine at registration.</summary>
/// <param name="Id">Machine id.</param>
/// <param name="Serial">Computer serial.</param>
/// <param name="Secret">Machine secret (≥ 32 random bytes).</param>
public sealed record MachineRequest(string? Id, string? Serial, byte[]? Secret);

/// <summary>Account registration.</summary>
/// <param name="ActivationCode">Admin-issued one-time code for this user name.</param>
/// <param name="Username">User name.</param>
/// <param name="Password">Recovery password.</param>
/// <param name="Question">Challenge question.</param>
/// <param name="Answer">Challenge answer.</param>
/// <param name="FullName">Full name.</param>
/// <param name="Email">E-mail.</param>
/// <param name="Machine">This machine.</param>
/// <param name="Card">The card and its proof (purpose register).</param>
public sealed record RegisterRequest(string? ActivationCode, string? Username, string? Password, string? Question, string? Answer, string? FullName, string? Email, MachineRequest? Machine, CardProofRequest? Card);

/// <summary>Registration result (the access key and activation code are shown once).</summary>
/// <param name="Username">User.</param>
/// <param name="CardSerial">Active card.</param>
/// <param name="MachineId">Machine.</param>
/// <param name="AccessKey">The machine's access key.</param>
/// <param name="TokenActivationCode">One-time code for the card's TRK1 registration.</param>
/// <param name="TokenActivationExpiresAt">Its expiry.</param>
public sealed record RegisterResponse(string Username, string CardSerial, string MachineId, string AccessKey, string TokenActivationCode, DateTimeOffset TokenActivationExpiresAt);

/// <summary>Card sign-in.</summary>
/// <param name="Username">User.</param>
/// <param name="CardSerial">Card.</param>
/// <param name="Nonce">Nonce (purpose login).</param>
/// <param name="Signature">Signature.</param>
public sealed record CardLoginRequest(string? Username, string? CardSerial, byte[]? Nonce, byte[]? Signature);

/// <summary>Password sign-in.</summary>
/// <param name="Username">User.</param>
/// <param name="Password">Recovery password.</param>
/// <param name="Answer">Challenge answer (optional extra signal).</param>
public sealed record PasswordLoginRequest(string? Username, string? Password, string? Answer);

/// <summary>A bearer session.</summary>
/// <param name="Token">Bearer token (shown once).</param>
/// <param name="Scope">card or recovery.</param>
/// <param name="Username">User.</param>
/// <param name="CardSerial">Card (scope card).</param>
/// <param name="ExpiresAt">Expiry.</param>
public sealed record SessionResponse(string Token, string Scope, string Username, string? CardSerial, DateTimeOffset ExpiresAt);

/// <summary>Lost-card recovery.</summary>
/// <param name="Username">User.</param>
/// <param name="Password">Recovery password.</param>
/// <param name="Answer">Challenge answer (optional extra signal).</param>
/// <param name="MachineId">The machine to unlock.</param>
public sealed record RecoverRequest(string? Username, string? Password, string? Answer, string? MachineId);

/// <summary>Recovery result.</summary>
/// <param name="Username">User.</param>
/// <param name="MachineId">Machine.</param>
/// <param name="AccessKey">New access key (shown once).</param>
/// <param name="Token">Recovery-scoped bearer token.</param>
/// <param name="Scope">"recovery".</param>
/// <param name="ExpiresAt">Token expiry.</param>
public sealed record RecoverResponse(string Username, string MachineId, string AccessKey, string Token, string Scope, DateTimeOffset ExpiresAt);

/// <summary>Access-key verification by a machine.</summary>
/// <param name="Username">User.</param>
/// <param name="MachineId">Machine.</param>
/// <param name="MachineSecret">Machine secret.</param>
/// <param name="AccessKey">The typed key.</param>
public sealed record VerifyKeyRequest(string? Username, string? MachineId, byte[]? MachineSecret, string? AccessKey);

/// <summary>Verification result.</summary>
/// <param name="Valid">True when the key opens the machine.</param>
/// <param name="MustRotate">True after a successful use: rotate now.</param>
public sealed record VerifyKeyResponse(bool Valid, bool MustRotate);

/// <summary>Access-key rotation (machine secret, or bearer with only machineId).</summary>
/// <param name="Username">User (machine authentication).</param>
/// <param name="MachineId">Machine.</param>
/// <param name="MachineSecret">Machine secret (machine authentication).</param>
public sealed record RotateKeyRequest(string? Username, string? MachineId, byte[]? MachineSecret);

/// <summary>A new access key.</summary>
/// <param name="MachineId">Machine.</param>
/// <param name="AccessKey">New key (shown once).</param>
public sealed record AccessKeyResponse(string MachineId, string AccessKey);

/// <summary>Adds (or re-keys) a machine.</summary>
/// <param name="MachineId">Machine id.</param>
/// <param name="MachineSerial">Computer serial.</param>
/// <param name="MachineSecret">Machine secret.</param>
public sealed record AddMachineRequest(string? MachineId, string? MachineSerial, byte[]? MachineSecret);

/// <summary>Replacement or temporary card.</summary>
/// <param name="NewCard">The new card with its proof (purpose replace).</param>
/// <param name="MachineId">Machine whose access key is renewed (optional).</param>
/// <param name="Temporary">Temporary card (the original stays valid).</param>
/// <param name="Hours">Temporary card lifetime.</param>
public sealed record ReplaceCardRequest(CardProofRequest? NewCard, string? MachineId, bool Temporary, int? Hours);

/// <summary>Replacement result.</summary>
/// <param name="CardSerial">New card.</param>
/// <param name="PreviousCardSerial">The primary card it replaced (null for a temporary card).</param>
/// <param name="Temporary">Temporary card.</param>
/// <param name="ExpiresAt">Temporary card expiry.</param>
/// <param name="MachineId">Machine re-keyed.</param>
/// <param name="AccessKey">Its new access key (shown once).</param>
/// <param name="TokenActivationCode">One-time code for the new card's TRK1 registration.</param>
/// <param name="TokenActivationExpiresAt">Its expiry.</param>
/// <param name="RevokedTokens">TRK1 tokens revoked.</param>
public sealed record ReplaceCardResponse(string CardSerial, string? PreviousCardSerial, bool Temporary, DateTimeOffset? ExpiresAt, string? MachineId, string? AccessKey,
    string TokenActivationCode, DateTimeOffset TokenActivationExpiresAt, int RevokedTokens);

/// <summary>A machine as the account shows it.</summary>
/// <param name="Id">Machine id.</param>
/// <param name="Serial">Computer serial.</param>
/// <param name="AccessKeyIssuedAt">Current key's issue time.</param>
/// <param name="AccessKeyUsedAt">Its first use.</param>
public sealed record MachineView(string Id, string Serial, DateTimeOffset AccessKeyIssuedAt, DateTimeOffset? AccessKeyUsedAt);

/// <summary>The signed-in account.</summary>
/// <param name="Username">User.</param>
/// <param name="FullName">Full name.</param>
/// <param name="Email">E-mail.</param>
/// <param name="Question">Challenge question.</param>
/// <param name="Scope">This session's scope.</param>
/// <param name="CardSerial">This session's card.</param>
/// <param name="Machines">Machines.</param>
public sealed record AccountView(string Username, string FullName, string Email, string Question, string Scope, string? CardSerial, IReadOnlyList<MachineView> Machines);

/// <summary>A card as the account shows it.</summary>
/// <param name="Serial">PIV serial.</param>
/// <param name="PublicKeySha256">SHA-256 of the SPKI (hex).</param>
/// <param name="Kind">primary or temporary.</param>
/// <param name="State">active, revoked or expired.</param>
/// <param name="RegisteredAt">Added.</param>
/// <param name="ExpiresAt">Temporary card expiry.</param>
/// <param name="RevokedAt">Revoked.</param>
/// <param name="ReplacedBy">Replacement card.</param>
public sealed record CardView(string Serial, string PublicKeySha256, string Kind, string State, DateTimeOffset RegisteredAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string? ReplacedBy);

/// <summary>An audit entry.</summary>
/// <param name="Seq">Sequence number.</param>
/// <param name="Time">Time.</param>
/// <param name="Kind">Kind.</param>
/// <param name="Details">JSON details.</param>
/// <param name="PrevHash">Previous hash (hex).</param>
/// <param name="Hash">Hash (hex).</param>
public sealed record AuditEntryView(long Seq, DateTimeOffset Time, string Kind, string Details, string PrevHash, string Hash);

/// <summary>The audit log.</summary>
/// <param name="ChainValid">True when the chain is unbroken up to the recorded head.</param>
/// <param name="Entries">Entries, oldest first.</param>
public sealed record AuditView(bool ChainValid, IReadOnlyList<AuditEntryView> Entries);

/// <summary>Escrow upload result.</summary>
/// <param name="Size">Bytes stored.</param>
/// <param name="Sha256">SHA-256 (hex).</param>
/// <param name="UpdatedAt">Time.</param>
public sealed record EscrowView(int Size, string Sha256, DateTimeOffset UpdatedAt);

/// <summary>The signed-in account user (from a bearer token).</summary>
/// <param name="Username">User.</param>
/// <param name="CardSerial">The card that signed in (scope card), else null.</param>
/// <param name="Scope">card or recovery.</param>
/// <param name="TokenHash">SHA-256 of the bearer token (for logout).</param>
public sealed record AccountPrincipal(string Username, string? CardSerial, string Scope, byte[] TokenHash);
