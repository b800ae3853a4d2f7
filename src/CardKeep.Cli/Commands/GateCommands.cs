using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Cards;
using CardKeep.Cards.PcSc;
using CardKeep.Cards.Piv;
using CardKeep.Client.Recovery;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Cli.Commands;

/// <summary>
/// <c>cardkeep gate</c>: the login gate (run by PAM's pam_exec as root, or by hand), <c>gate status</c>, <c>gate bind</c>
/// (a binding without a server) and <c>gate kit create</c> (the emergency kit). Exit codes: 0 allowed (or the gate
/// does not apply to the user), 1 denied, 2 bad input, 3 the machine store is missing, damaged or unsafe (fails closed:
/// a message for the administrator on stderr).
/// </summary>
internal static class GateCommands
{
    private static readonly Option<string?> MachineDirOption = new("--machine-dir")
    {
        Description = $"Machine store folder (default ${MachineStore.DirectoryVariable}, else {MachineStore.SystemDirectory})",
        Recursive = true,
    };

    private static readonly Option<string?> ReaderOption = new("--reader", "-r")
    {
        Description = "Look for the card in this reader only (exact name, index or unique part); default: every reader with a card",
        Recursive = true,
    };

    public static void Add(RootCommand root)
    {
        var user = new Option<string?>("--user") { Description = "The user logging in (default $PAM_USER); the gate applies only to the bound user" };
        var pam = new Option<bool>("--pam")
        {
            Description = "Run as pam_exec's helper (auth, expose_authtok, stdout): the user from PAM_USER, the access key (or with --kit the kit passphrase) from stdin; implied when pam_exec's PAM_TYPE is set",
        };
        var accessKey = AccessKeySecret();
        var kit = new Option<string?>("--kit") { Description = "Emergency kit file (the kit JSON, or a file holding the text read from its QR code); opens the computer with the kit passphrase" };
        var passphrase = KitPassphrase();
        var command = new Command("gate", "Login gate: the registered card → allow; no card → access key (rotated after use) or emergency kit → allow and urge a new card; otherwise deny")
        {
            MachineDirOption, ReaderOption, user, pam, accessKey.Option, kit, passphrase.Option,
        };
        command.SetAction((parse, cancellationToken) => RunGateAsync(parse, user, pam, accessKey, kit, passphrase, cancellationToken));
        command.Add(Status());
        command.Add(Bind());
        command.Add(Kit());
        root.Add(command);
    }

    private static SecretOption AccessKeySecret() => new("--access-key", "CARDKEEP_ACCESS_KEY", "access key");

    private static SecretOption KitPassphrase() => new("--kit-passphrase", "CARDKEEP_KIT_PASSPHRASE", "kit passphrase");

    private static async Task<int> RunGateAsync(ParseResult parse, Option<string?> userOption, Option<bool> pamOption, SecretOption accessKey,
        Option<string?> kitOption, SecretOption passphrase, CancellationToken cancellationToken)
    {
        // pam_exec sets PAM_TYPE (and PAM_USER, PAM_SERVICE): a PAM line without --pam behaves the same.
        bool pam = parse.GetValue(pamOption) || (Environment.GetEnvironmentVariable("PAM_TYPE") is { Length: > 0 } && Console.IsInputRedirected);
        // pam_exec's stdout option shows what we print in the login conversation; stderr goes to the system log.
        void Say(string text) => Console.Out.WriteLine(text);
        try
        {
            string user = parse.GetValue(userOption) ?? Environment.GetEnvironmentVariable("PAM_USER")
                ?? throw new UsageException("give --user (or run from pam_exec, which sets PAM_USER)");
            var store = OpenStore(parse);
            var binding = store.Load();
            if (!string.Equals(user, binding.User, StringComparison.Ordinal))
            {
                Say($"cardkeep gate: not applied to '{user}' (this computer is bound to another user)");
                return ExitCodes.Ok;
            }

            var cards = CheckCards(binding, parse.GetValue(ReaderOption), user);
            if (cards.FirstOrDefault(c => c.Result?.Match == CardMatch.Registered) is { Result: { } registered } found)
            {
                if (await RevokedOnServerAsync(binding, registered.Serial, cancellationToken).ConfigureAwait(false) is { } state)
                {
                    Say($"cardkeep gate: denied: card {registered.Serial} is {state} on the recovery server (reported lost or replaced from another computer); use the access key");
                    MarkCardLost(store);
                    return ExitCodes.Failed;
                }

                Say($"cardkeep gate: card {registered.Serial} in '{found.Reader}' is {user}'s registered card ({registered.How}): allowed");
                if (binding.State.CardLost)
                {
                    ClearCardLost(store);
                }

                return ExitCodes.Ok;
            }

            foreach (var card in cards)
            {
                Say(card.Result is { } r
                    ? $"cardkeep gate: the card in '{card.Reader}' (serial {r.Serial}) is not {user}'s registered card: {r.How}"
                    : $"cardkeep gate: '{card.Reader}': {card.Note}");
            }

            var gate = new MachineGate(store);
            byte[] stdin = pam ? PamSecret.ReadStdin() : [];
            try
            {
                GateOutcome? outcome = null;
                if (parse.GetValue(kitOption) is { } kitPath)
                {
                    var kit = EmergencyKit.Parse(ReadKitText(kitPath));
                    byte[] secret = pam ? stdin.ToArray() : ReadOptional(parse, passphrase) ?? throw new UsageException("the kit needs its passphrase: give --kit-passphrase or set CARDKEEP_KIT_PASSPHRASE");
                    try
                    {
                        outcome = await gate.WithKitAsync(kit, secret, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(secret);
                    }
                }
                else
                {
                    byte[]? key = pam ? (stdin.Length > 0 ? stdin.ToArray() : null) : ReadOptional(parse, accessKey);
                    if (key is not null)
                    {
                        try
                        {
                            outcome = await gate.WithAccessKeyAsync(Encoding.UTF8.GetString(key), cancellationToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            CryptographicOperations.ZeroMemory(key);
                        }
                    }
                }

                if (outcome is null)
                {
                    Say($"cardkeep gate: denied: {user}'s registered card is not here and no access key or emergency kit was given");
                    return ExitCodes.Failed;
                }

                Say((outcome.Allowed ? "cardkeep gate: allowed: " : "cardkeep gate: denied: ") + outcome.Message);
                if (outcome.NewAccessKey is { } newKey)
                {
                    Say($"YOUR NEW ACCESS KEY (shown once, write it down now): {newKey}");
                }

                return outcome.Allowed ? ExitCodes.Ok : ExitCodes.Failed;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(stdin);
            }
        }
        catch (MachineStoreException e)
        {
            return StoreProblem(e);
        }
        catch (Exception e) when (e is UsageException or EmergencyKitException or ArgumentException)
        {
            Console.Error.WriteLine($"cardkeep gate: {e.Message}");
            Say($"cardkeep gate: denied: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Fail closed: whatever went wrong reading the store or a file, nobody gets in.
            Console.Error.WriteLine($"cardkeep gate: denied, the gate could not run: {e.Message}");
            return ExitCodes.Environment;
        }
#pragma warning disable CA1031 // A login gate must answer "denied", never crash: any other failure is reported and refused.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine($"cardkeep gate: denied, internal error ({e.GetType().Name}: {e.Message})");
            Console.Out.WriteLine("cardkeep gate: denied: internal error; ask the administrator");
            return ExitCodes.Environment;
        }
    }

    /// <summary>
    /// Asks the recovery server (briefly) whether the bound card is still active: a card revoked from another computer
    /// (portal, <c>account revoke-card</c>, a replacement elsewhere) is refused here too. Returns the state when the server
    /// says it is not active; null when it is active or no server answers (then the local binding decides, and stderr says so).
    /// </summary>
    private static async Task<string?> RevokedOnServerAsync(MachineBinding binding, string serial, CancellationToken cancellationToken)
    {
        if (binding.ServerUrls.Count == 0)
        {
            return null;
        }

        using var server = new MachineServerClient(binding, TimeSpan.FromSeconds(3));
        try
        {
            string state = await server.CardStatusAsync(serial, cancellationToken).ConfigureAwait(false);
            return state == "active" ? null : state;
        }
        catch (MachineServerException e)
        {
            Console.Error.WriteLine($"cardkeep gate: the card's state could not be confirmed with the recovery server ({e.Message}): the local binding decides");
            return null;
        }
    }

    private static void MarkCardLost(MachineStore store)
    {
        try
        {
            store.Update(b => b with { State = b.State with { CardLost = true, Changed = DateTimeOffset.UtcNow } });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or MachineStoreException)
        {
            Console.Error.WriteLine($"cardkeep gate: could not record the 'card lost' state: {e.Message}");
        }
    }

    /// <summary>The registered card is back: the "card lost" warning goes (a failure to save it does not refuse the card).</summary>
    private static void ClearCardLost(MachineStore store)
    {
        try
        {
            store.Update(b => b with { State = b.State with { CardLost = false, Changed = DateTimeOffset.UtcNow } });
            Console.Out.WriteLine("cardkeep gate: the registered card is back: the 'card lost' state is cleared");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or MachineStoreException)
        {
            Console.Error.WriteLine($"cardkeep gate: could not clear the 'card lost' state: {e.Message}");
        }
    }

    /// <summary>The store at --machine-dir / $CARDKEEP_MACHINE_DIR / /var/lib/cardkeep/machine; it is root-only, so the gate runs as root.</summary>
    internal static MachineStore OpenStore(ParseResult parse)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new MachineStoreException(MachineStoreProblem.Unsafe, "the machine store is root-only: run this as root (pam_exec runs the gate as root)");
        }

        return new MachineStore(MachineStore.DefaultDirectory(parse.GetValue(MachineDirOption)));
    }

    private static int StoreProblem(MachineStoreException e)
    {
        (string what, string fix) = e.Problem switch
        {
            MachineStoreProblem.Missing => ("no machine binding", "register this computer ('cardkeep account register', or 'cardkeep gate bind' without a server) before the PAM line is used"),
            MachineStoreProblem.Unsafe => ("the machine store is unsafe", "run the gate as root, and make the folder and its files root's with modes 0700/0600 if the store is yours"),
            _ => ("the machine store is damaged", "restore it from a backup, or remove the folder and register this computer again"),
        };
        Console.Error.WriteLine($"cardkeep gate: denied (fails closed): {what}: {e.Message}. Administrator: {fix}.");
        Console.Out.WriteLine($"cardkeep gate: denied: {what}; ask the administrator");
        return ExitCodes.Environment;
    }

    private sealed record CardSeen(string Reader, CardCheckResult? Result, string? Note);

    /// <summary>Every card present (or the one in --reader) checked against the registered card. pcscd not running: no cards.</summary>
    private static List<CardSeen> CheckCards(MachineBinding binding, string? reader, string user)
    {
        var seen = new List<CardSeen>();
        if (binding.Card is not { } registered)
        {
            return seen;
        }

        PcscContext context;
        try
        {
            context = PcscContext.Establish();
        }
        catch (PcscException e)
        {
            Console.Error.WriteLine($"cardkeep gate: no card reader service ({e.Message}): looking for no card");
            return seen;
        }

        using (context)
        {
            IEnumerable<string> readers;
            try
            {
                readers = reader is not null
                    ? [CliSupport.ResolveReader(context, reader)]
                    : context.GetReaderStatuses().Where(s => s.CardPresent).Select(s => s.Name).ToList();
            }
            catch (PcscException e)
            {
                Console.Error.WriteLine($"cardkeep gate: cannot list readers ({e.Message})");
                return seen;
            }

            foreach (string name in readers)
            {
                try
                {
                    using var channel = context.Connect(name);
                    using var piv = PivSession.Open(channel);
                    seen.Add(new CardSeen(name, CardCheck.Check(piv, registered, user), null));
                }
                catch (PcscCardAbsentException)
                {
                    seen.Add(new CardSeen(name, null, "no card"));
                }
                catch (Exception e) when (e is CardException or CryptographicException)
                {
                    seen.Add(new CardSeen(name, null, $"no usable PIV card ({e.Message})"));
                }
            }
        }

        return seen;
    }

    /// <summary>A secret from its flag, its variable, or (on a terminal) a prompt; null when none of these gives one.</summary>
    private static byte[]? ReadOptional(ParseResult parse, SecretOption secret)
    {
        bool given = !string.IsNullOrEmpty(parse.GetValue(secret.Option)) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(secret.EnvironmentVariable));
        return given || !Console.IsInputRedirected ? secret.Read(parse) : null;
    }

    private static string ReadKitText(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > 64 * 1024)
            {
                throw new UsageException($"{path} is too large to be an emergency kit");
            }

            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new UsageException($"no emergency kit at {path}");
        }
    }

    private static Command Status()
    {
        var command = new Command("status", "The machine binding: bound user, registered card, servers, access keys, kit and state (no secrets)") { CliSupport.JsonOption };
        command.SetAction(parse =>
        {
            try
            {
                var binding = OpenStore(parse).Load();
                var view = new
                {
                    binding.User,
                    binding.Account,
                    binding.MachineId,
                    binding.MachineSerial,
                    binding.ServerUrls,
                    Card = binding.Card is { } c ? new { c.Serial, CardAuthenticationKey = c.CardAuthenticationKey is not null } : null,
                    AccessKeys = binding.AccessKeys.Count,
                    UsedAccessKeys = binding.UsedAccessKeys.Count,
                    Kit = binding.Kit?.KitId,
                    binding.State,
                    binding.Throttle,
                };
                if (parse.GetValue(CliSupport.JsonOption))
                {
                    CliSupport.WriteJson(view);
                }
                else
                {
                    Console.WriteLine($"user           {binding.User}");
                    Console.WriteLine($"machine        {binding.MachineId} (serial {binding.MachineSerial})");
                    Console.WriteLine($"servers        {(binding.ServerUrls.Count == 0 ? "none (local binding)" : string.Join(", ", binding.ServerUrls))}");
                    Console.WriteLine($"card           {(binding.Card is { } card ? $"{card.Serial} ({(card.CardAuthenticationKey is null ? "9A key only: recognised, not proven" : "9E challenge")})" : "none")}");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"access keys    {binding.AccessKeys.Count} (used and cancelled: {binding.UsedAccessKeys.Count})"));
                    Console.WriteLine($"emergency kit  {binding.Kit?.KitId ?? "none"}");
                    Console.WriteLine($"state          {(binding.State.CardLost ? "card lost: get a new card" : "ok")}{(binding.State.ServerRotationPending ? ", access-key rotation owed to the server" : "")}");
                    if (binding.Throttle.LockedUntil is { } until && until > DateTimeOffset.UtcNow)
                    {
                        Console.WriteLine($"locked until   {until.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");
                    }
                }

                return ExitCodes.Ok;
            }
            catch (MachineStoreException e)
            {
                return StoreProblem(e);
            }
        });
        return command;
    }

    private static Command Bind()
    {
        var user = new Option<string>("--user") { Description = "The local user the gate protects", Required = true };
        var server = new Option<string[]>("--server") { Description = "Recovery server URL (repeatable); none: a local binding, access keys checked here only" };
        var machineId = new Option<string?>("--machine-id") { Description = "Machine id (default /etc/machine-id)" };
        var machineSerial = new Option<string?>("--machine-serial") { Description = "The computer's serial number (default: the DMI product serial when readable)" };
        var replace = new Option<bool>("--replace") { Description = "Replace an existing binding (its access keys and kit stop working)" };
        var command = new Command("bind", "Bind this computer to a user and the card in --reader without a server: prints the first access key once (cardkeep account register does this with the server)")
        {
            user, server, machineId, machineSerial, replace,
        };
        command.SetAction(parse =>
        {
            try
            {
                var store = OpenStore(parse);
                if (store.Exists && !parse.GetValue(replace))
                {
                    throw new UsageException($"{store.Directory} already holds a binding: give --replace to overwrite it");
                }

                string reader = parse.GetValue(ReaderOption) ?? throw new UsageException("give --reader: the card to bind");
                RegisteredCard card;
                using (var context = PcscContext.Establish())
                using (var channel = context.Connect(CliSupport.ResolveReader(context, reader)))
                using (var piv = PivSession.Open(channel))
                {
                    card = CardCheck.Describe(piv);
                }

                using var random = RandomNumberGenerator.Create();
                using var accessKey = AccessKey.Generate(random);
                var binding = new MachineBinding
                {
                    User = parse.GetValue(user)!,
                    ServerUrls = parse.GetValue(server) ?? [],
                    MachineId = parse.GetValue(machineId) ?? ReadFirstLine("/etc/machine-id") ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                    MachineSerial = parse.GetValue(machineSerial) ?? ReadFirstLine("/sys/class/dmi/id/product_serial") ?? "unknown",
                    MachineSecret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                    Card = card,
                }.WithAccessKey(accessKey);
                if (store.Exists)
                {
                    using var held = store.Lock();
                    store.Save(binding);
                }
                else
                {
                    store.Save(binding);
                }

                Console.WriteLine($"bound {binding.User} and card {card.Serial} ({(card.CardAuthenticationKey is null ? "no 9E key: the gate can only recognise the card, not prove it" : "9E key: proven by challenge")}) in {store.Directory}");
                Console.WriteLine($"ACCESS KEY (shown once, write it down): {accessKey}");
                return ExitCodes.Ok;
            }
            catch (MachineStoreException e)
            {
                return StoreProblem(e);
            }
            catch (Exception e) when (e is UsageException or CardException or PcscException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return e is UsageException ? ExitCodes.BadInput : ExitCodes.Failed;
            }
        });
        return command;
    }

    private static string? ReadFirstLine(string path)
    {
        try
        {
            return File.Exists(path) && File.ReadLines(path).FirstOrDefault()?.Trim() is { Length: > 0 } line ? line : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static Command Kit()
    {
        var output = new Option<string>("--out") { Description = "Where to write the kit file (JSON)", Required = true };
        var html = new Option<string?>("--html") { Description = "Also write the printable page with the QR code here" };
        var accessKey = AccessKeySecret();
        var passphrase = KitPassphrase();
        var create = new Command("create", "Make the emergency kit: needs the registered card present or an access key (which is then rotated); a new kit cancels the old one")
        {
            output, html, accessKey.Option, passphrase.Option,
        };
        create.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var store = OpenStore(parse);
                var binding = store.Load();
                var cards = CheckCards(binding, parse.GetValue(ReaderOption), binding.User);
                if (!cards.Any(c => c.Result?.Match == CardMatch.Registered))
                {
                    byte[] key = ReadOptional(parse, accessKey) ?? throw new UsageException("the registered card is not here: give the access key (--access-key or CARDKEEP_ACCESS_KEY)");
                    GateOutcome outcome;
                    try
                    {
                        outcome = await new MachineGate(store).WithAccessKeyAsync(Encoding.UTF8.GetString(key), cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(key);
                    }

                    if (!outcome.Allowed)
                    {
                        Console.Error.WriteLine($"error: {outcome.Message}");
                        return ExitCodes.Failed;
                    }

                    Console.WriteLine(outcome.Message);
                    Console.WriteLine($"YOUR NEW ACCESS KEY (shown once, write it down now): {outcome.NewAccessKey}");
                }

                byte[] secret = passphrase.Read(parse, confirm: true);
                try
                {
                    var (kit, verifier) = EmergencyKit.Create(binding.User, binding.MachineId, secret, DateTimeOffset.UtcNow);
                    File.WriteAllText(parse.GetValue(output)!, kit.ToJson() + "\n");
                    if (parse.GetValue(html) is { } page)
                    {
                        File.WriteAllText(page, kit.ToHtml(binding.MachineSerial));
                    }

                    store.Update(b => b with { Kit = verifier });
                    Console.WriteLine($"emergency kit {kit.KitId} for {binding.User} written to {parse.GetValue(output)}{(parse.GetValue(html) is { } p ? " and " + p : "")}; older kits no longer work");
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(secret);
                }

                return ExitCodes.Ok;
            }
            catch (MachineStoreException e)
            {
                return StoreProblem(e);
            }
            catch (Exception e) when (e is UsageException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return e is UsageException or ArgumentException ? ExitCodes.BadInput : ExitCodes.Failed;
            }
        });
        var kit = new Command("kit", "The emergency recovery kit: a file and a printable QR page that open this computer with a passphrase") { create };
        return kit;
    }
}
