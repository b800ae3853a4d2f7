using System.CommandLine;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CardKeep.Agent;
using CardKeep.Agent.Api;
using CardKeep.Agent.Daemon;
using CardKeep.Agent.Sessions;
using Microsoft.Extensions.Logging;

namespace CardKeep.Cli.Commands;

/// <summary>Registers the key store manager commands (Linux only: the agent is built on SO_PEERCRED and Unix sockets).</summary>
internal static class AgentCommands
{
    public static void Add(RootCommand root)
    {
        if (OperatingSystem.IsLinux())
        {
            AgentCommandTree.Add(root);
        }
    }
}

/// <summary>
/// The key store manager: <c>cardkeep agent</c> (the daemon, and <c>agent enroll-card</c> / <c>agent status</c>),
/// <c>login</c>, <c>logout</c>, <c>pam-auth</c> and <c>hostkey …</c>. Everything but the daemon talks to it over its
/// local API socket, where the kernel tells it who is asking.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class AgentCommandTree
{
    private static readonly Option<string?> ApiSocketOption = new("--api-socket")
    {
        Description = "The agent's local API socket (agent: where to listen, default api.sock next to --socket; other commands: where to connect, default $CARDKEEP_AGENT_API, else $XDG_RUNTIME_DIR/cardkeep/api.sock when it exists, else /run/cardkeep/api.sock)",
        Recursive = true,
    };

    public static void Add(RootCommand root)
    {
        root.Add(AgentCommand());
        root.Add(Login());
        root.Add(Logout());
        root.Add(PamAuth());
        root.Add(HostKey());
    }

    private static Command AgentCommand()
    {
        var socket = new Option<string?>("--socket") { Description = "SSH agent socket (default /run/cardkeep/agent.sock with --system, $XDG_RUNTIME_DIR/cardkeep/agent.sock with --user)" };
        var system = new Option<bool>("--system") { Description = "Shared system agent: socket 0666, each connection authorized by its kernel uid (run as root)" };
        var user = new Option<bool>("--user") { Description = "Per-user agent (default): socket 0600 in a 0700 folder, only this uid is served" };
        var stateDir = new Option<string?>("--state-dir") { Description = "Keep sessions, enrolled cards and host key stores in this folder" };
        var onRemoved = new Option<string?>("--on-card-removed")
        {
            Description = "Command run without a shell when a session's card is removed, e.g. \"loginctl terminate-session {logind_session}\"; placeholders {user} {uid} {session} {logind_session} {reader} {serial} {tty}",
        };
        var confirm = new Option<string?>("--confirm-command")
        {
            Description = "Command asked before each use of a key added with ssh-add -c (exit 0 allows), e.g. \"ssh-askpass 'Allow {fingerprint}?'\"; placeholders {comment} {fingerprint} {uid} {pid} {forwarded}. Without it such uses are refused",
        };
        var forwarding = new Option<ForwardingPolicy>("--forwarding") { Description = "Sign requests on a forwarded connection (ssh -A): allow, confirm or deny", DefaultValueFactory = _ => ForwardingPolicy.Allow };
        var noMonitor = new Option<bool>("--no-card-monitor") { Description = "Do not watch PC/SC (hosts without pcscd; card sessions then cannot end on removal)" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log debug lines (never secrets)" };
        var command = new Command("agent", "Run the key store manager: an SSH agent serving card keys and host keys, plus the local API (foreground; SIGTERM stops it)")
        {
            socket, ApiSocketOption, system, user, stateDir, onRemoved, confirm, forwarding, noMonitor, verbose,
        };
        command.Add(EnrollCard());
        command.Add(UnenrollCard());
        command.Add(Status());
        command.SetAction((parse, cancellationToken) => CliSupport.GuardAsync(async () =>
        {
            if (parse.GetValue(system) && parse.GetValue(user))
            {
                throw new UsageException("--system and --user exclude each other");
            }

            var mode = parse.GetValue(system) ? SocketMode.System : SocketMode.User;
            var defaults = AgentHostOptions.DefaultSockets(mode);
            string sshPath = parse.GetValue(socket) ?? defaults.Ssh;
            string apiPath = parse.GetValue(ApiSocketOption) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(sshPath))!, "api.sock");
            var paths = parse.GetValue(stateDir) is { } dir ? AgentPaths.InDirectory(Path.GetFullPath(dir)) : mode == SocketMode.System ? AgentPaths.System() : AgentPaths.User();
            var options = new AgentHostOptions
            {
                Mode = mode,
                SocketPath = sshPath,
                ApiSocketPath = apiPath,
                Paths = paths,
                OnCardRemoved = Template(parse.GetValue(onRemoved), "--on-card-removed"),
                ConfirmCommand = Template(parse.GetValue(confirm), "--confirm-command"),
                Agent = new AgentOptions { Forwarding = parse.GetValue(forwarding) },
                WatchCards = !parse.GetValue(noMonitor),
            };
            // Logs go to stderr; stdout carries only the SSH_AUTH_SOCK lines.
            using var loggers = LoggerFactory.Create(b => b
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
                .AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss.fff ";
                })
                .SetMinimumLevel(parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information));
            var host = AgentHost.Start(options, loggers);
            await using (host.ConfigureAwait(false))
            {
                Console.Out.WriteLine($"SSH_AUTH_SOCK={Path.GetFullPath(sshPath)}; export SSH_AUTH_SOCK;");
                Console.Out.WriteLine($"CARDKEEP_AGENT_API={Path.GetFullPath(apiPath)}; export CARDKEEP_AGENT_API;");
                Console.Out.Flush();
                await host.RunAsync(cancellationToken).ConfigureAwait(false);
            }

            Console.Error.WriteLine("agent stopped");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command EnrollCard()
    {
        var pin = Secrets.Pin();
        var reader = CliSupport.ReaderOption();
        var command = new Command("enroll-card", "Enroll the card in a reader for you: PIN, then its 9A key proves itself; its serial and 9A key are recorded for card login")
        {
            reader, pin.Option,
        };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var secret = pin.Read(parse);
            try
            {
                using var answer = Call(parse, "enroll-card", w =>
                {
                    w.WriteString("reader", parse.GetValue(reader));
                    w.WriteString("pin", secret);
                });
                var root = answer.RootElement;
                Console.WriteLine($"enrolled card {root.GetProperty("serial").GetString()} (9A key {root.GetProperty("fingerprint").GetString()})");
                return ExitCodes.Ok;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }));
        return command;
    }

    private static Command UnenrollCard()
    {
        var serial = new Argument<string>("SERIAL") { Description = "The card's serial as 'agent status' shows it" };
        var command = new Command("unenroll-card", "Withdraw one of your enrolled cards (lost or replaced): it logs you in no more, and your sessions on it end") { serial };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            using var answer = Call(parse, "unenroll-card", w => w.WriteString("serial", parse.GetValue(serial)));
            bool removed = answer.RootElement.GetProperty("removed").GetBoolean();
            Console.WriteLine(removed ? $"card {parse.GetValue(serial)} is no longer enrolled" : $"card {parse.GetValue(serial)} was not enrolled for you");
            return removed ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return command;
    }

    private static Command Status()
    {
        var command = new Command("status", "Your sessions, enrolled cards and keys in the agent") { CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            using var status = Call(parse, "status");
            using var keys = Call(parse, "list");
            if (parse.GetValue(CliSupport.JsonOption))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { status = status.RootElement, keys = keys.RootElement.GetProperty("keys") }, CliSupport.Json));
                return ExitCodes.Ok;
            }

            var s = status.RootElement;
            Console.WriteLine($"uid {s.GetProperty("uid").GetUInt32()}{(s.GetProperty("locked").GetBoolean() ? " (agent locked)" : string.Empty)}");
            foreach (var session in s.GetProperty("sessions").EnumerateArray())
            {
                bool card = session.GetProperty("card").GetBoolean();
                Console.WriteLine($"  session {session.GetProperty("id").GetString()} since {session.GetProperty("loginTime").GetDateTimeOffset():u}: " +
                    (card ? $"card {session.GetProperty("cardSerial").GetString()} in '{session.GetProperty("reader").GetString()}'" : "host key store"));
            }

            foreach (var card in s.GetProperty("cards").EnumerateArray())
            {
                Console.WriteLine($"  enrolled card {card.GetProperty("serial").GetString()} (9A {card.GetProperty("fingerprint").GetString()})");
            }

            foreach (var key in keys.RootElement.GetProperty("keys").EnumerateArray())
            {
                Console.WriteLine($"  key {key.GetProperty("fingerprint").GetString()} {key.GetProperty("type").GetString()} [{key.GetProperty("source").GetString()}] {key.GetProperty("comment").GetString()}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Login()
    {
        var reader = CliSupport.ReaderOption(required: false);
        var pin = Secrets.Pin();
        var passphrase = Passphrase();
        var command = new Command("login", "Log in to the agent: with your enrolled card (PIN, then a challenge signed by the card) when it is present, else with your host key store passphrase")
        {
            ApiSocketOption, reader, pin.Option, passphrase.Option,
        };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string? chosenReader = parse.GetValue(reader);
            byte[] secret = ReadLoginSecret(parse, chosenReader, pin, passphrase);
            try
            {
                using var answer = Call(parse, "login", w =>
                {
                    w.WriteString("secret", secret);
                    if (chosenReader is not null)
                    {
                        w.WriteString("reader", chosenReader);
                    }

                    if (TtyName() is { } tty)
                    {
                        w.WriteString("tty", tty);
                    }

                    if (Environment.GetEnvironmentVariable("SSH_CONNECTION") is { Length: > 0 } ssh)
                    {
                        w.WriteString("remoteHost", ssh.Split(' ')[0]);
                    }
                });
                var session = answer.RootElement.GetProperty("session");
                Console.WriteLine(session.GetProperty("card").GetBoolean()
                    ? $"logged in with card {session.GetProperty("cardSerial").GetString()} in '{session.GetProperty("reader").GetString()}' (session {session.GetProperty("id").GetString()})"
                    : $"logged in with your host key store (session {session.GetProperty("id").GetString()})");
                return ExitCodes.Ok;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }));
        return command;
    }

    private static byte[] ReadLoginSecret(ParseResult parse, string? reader, SecretOption pin, SecretOption passphrase)
    {
        bool hasPin = !string.IsNullOrEmpty(parse.GetValue(pin.Option)) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(pin.EnvironmentVariable));
        bool hasPassphrase = !string.IsNullOrEmpty(parse.GetValue(passphrase.Option)) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(passphrase.EnvironmentVariable));
        if (hasPin != hasPassphrase)
        {
            return hasPin ? pin.Read(parse) : passphrase.Read(parse);
        }

        using var method = Call(parse, "login-method", w =>
        {
            if (reader is not null)
            {
                w.WriteString("reader", reader);
            }
        });
        return method.RootElement.GetProperty("method").GetString() switch
        {
            "card" => pin.Read(parse),
            "host" => passphrase.Read(parse),
            _ => throw new UsageException("none of your enrolled cards is present and you have no host key store ('cardkeep agent enroll-card' or 'cardkeep hostkey new')"),
        };
    }

    private static Command Logout()
    {
        var session = new Option<string?>("--session") { Description = "End only this session (default: all of yours)" };
        var command = new Command("logout", "End your sessions in the agent: their keys go, the card PIN is forgotten") { ApiSocketOption, session };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            using var answer = Call(parse, "logout", w =>
            {
                if (parse.GetValue(session) is { } id)
                {
                    w.WriteString("session", id);
                }
            });
            Console.WriteLine($"{answer.RootElement.GetProperty("ended").GetInt32()} session(s) ended");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command PamAuth()
    {
        var reader = CliSupport.ReaderOption(required: false);
        var command = new Command("pam-auth", "PAM helper for pam_exec (auth, expose_authtok): reads the PIN or password from stdin, logs PAM_USER in through the agent; exit 0 only on success")
        {
            ApiSocketOption, reader,
        };
        command.SetAction(parse =>
        {
            // pam_exec maps every non-zero exit to PAM_SYSTEM_ERR; print why on stderr (pam_exec logs it unless quiet).
            byte[] secret = [];
            try
            {
                string user = Environment.GetEnvironmentVariable("PAM_USER") is { Length: > 0 } u ? u : throw new UsageException("PAM_USER is not set (run from pam_exec)");
                secret = PamSecret.ReadStdin();
                using var answer = ApiClient.Call(ApiSocket(parse), "login", w =>
                {
                    w.WriteString("secret", secret);
                    w.WriteString("user", user);
                    if (parse.GetValue(reader) is { } r)
                    {
                        w.WriteString("reader", r);
                    }

                    if (Environment.GetEnvironmentVariable("PAM_TTY") is { Length: > 0 } tty)
                    {
                        w.WriteString("tty", tty);
                    }

                    if (Environment.GetEnvironmentVariable("PAM_RHOST") is { Length: > 0 } rhost)
                    {
                        w.WriteString("remoteHost", rhost);
                    }
                });
                if (!answer.RootElement.GetProperty("ok").GetBoolean())
                {
                    Console.Error.WriteLine($"cardkeep pam-auth: {answer.RootElement.GetProperty("error").GetString()}");
                    return ExitCodes.Failed;
                }

                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is UsageException or SocketException or IOException or JsonException)
            {
                Console.Error.WriteLine($"cardkeep pam-auth: {e.Message}");
                return ExitCodes.Failed;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        });
        return command;
    }

    private static Command HostKey()
    {
        var hostkey = new Command("hostkey", "Your host key store: software keys kept encrypted (AES-256-GCM, PBKDF2) by the agent, for logins without a card") { ApiSocketOption };
        var passphrase = Passphrase();

        var type = new Option<string>("--type", "-t") { Description = "ed25519, ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072 or rsa-4096", DefaultValueFactory = _ => "ed25519" };
        var comment = new Option<string?>("--comment", "-C") { Description = "Comment shown by ssh-add -l" };
        var create = new Command("new", "Generate a key into your host key store (created with this passphrase on first use); prints its public key line") { type, comment, passphrase.Option };
        create.SetAction(parse => WithPassphrase(parse, passphrase, confirm: true, secret => PrintKeys(Call(parse, "hostkey-new", w =>
        {
            w.WriteString("type", parse.GetValue(type));
            w.WriteString("comment", parse.GetValue(comment) ?? Environment.UserName + "@" + Environment.MachineName);
            w.WriteString("passphrase", secret);
        }))));

        var file = new Argument<string?>("FILE") { Description = "Private key file: OpenSSH without passphrase, or PEM (PKCS#8, PKCS#1, SEC1)", Arity = ArgumentArity.ZeroOrOne };
        var fromAgent = new Option<string?>("--from-agent") { Description = "Persist a key you added with ssh-add, by its SHA256: fingerprint" };
        var import = new Command("import", "Put a private key into your host key store (ssh-add keys live in memory only until imported)") { file, fromAgent, comment, passphrase.Option };
        import.SetAction(parse => WithPassphrase(parse, passphrase, confirm: false, secret =>
        {
            string? path = parse.GetValue(file);
            string? fingerprint = parse.GetValue(fromAgent);
            if ((path is null) == (fingerprint is null))
            {
                throw new UsageException("give a key FILE or --from-agent FINGERPRINT");
            }

            string? text = path is null ? null : File.ReadAllText(path);
            return PrintKeys(Call(parse, "hostkey-import", w =>
            {
                if (text is not null)
                {
                    w.WriteString("privateKey", text);
                }
                else
                {
                    w.WriteString("fromAgent", fingerprint);
                }

                if (parse.GetValue(comment) is { } c)
                {
                    w.WriteString("comment", c);
                }

                w.WriteString("passphrase", secret);
            }));
        }));

        var list = new Command("list", "The keys in your host key store (no passphrase needed)") { CliSupport.JsonOption };
        list.SetAction(parse => CliSupport.Guard(() => PrintKeys(Call(parse, "hostkey-list"), parse.GetValue(CliSupport.JsonOption))));

        var fingerprintArgument = new Argument<string>("FINGERPRINT") { Description = "SHA256:… as hostkey list shows it" };
        var remove = new Command("remove", "Delete a key from your host key store") { fingerprintArgument, passphrase.Option };
        remove.SetAction(parse => WithPassphrase(parse, passphrase, confirm: false, secret =>
        {
            using var answer = Call(parse, "hostkey-remove", w =>
            {
                w.WriteString("fingerprint", parse.GetValue(fingerprintArgument));
                w.WriteString("passphrase", secret);
            });
            Console.WriteLine($"removed {answer.RootElement.GetProperty("removed").GetString()}");
            return ExitCodes.Ok;
        }));

        hostkey.Add(create);
        hostkey.Add(import);
        hostkey.Add(list);
        hostkey.Add(remove);
        return hostkey;
    }

    private static int WithPassphrase(ParseResult parse, SecretOption passphrase, bool confirm, Func<byte[], int> body) => CliSupport.Guard(() =>
    {
        var secret = passphrase.Read(parse, confirm && !Console.IsInputRedirected);
        try
        {
            return body(secret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    });

    private static int PrintKeys(JsonDocument answer, bool json = false)
    {
        using (answer)
        {
            var keys = answer.RootElement.GetProperty("hostKeys");
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(keys, CliSupport.Json));
                return ExitCodes.Ok;
            }

            if (keys.GetArrayLength() == 0)
            {
                Console.WriteLine("no host keys; create one with 'cardkeep hostkey new'");
            }

            foreach (var key in keys.EnumerateArray())
            {
                Console.WriteLine(key.GetProperty("publicKey").GetString());
            }

            return ExitCodes.Ok;
        }
    }

    private static SecretOption Passphrase() => new("--passphrase", "CARDKEEP_PASSPHRASE", "host key store passphrase");

    private static CommandTemplate? Template(string? line, string option)
    {
        if (line is null)
        {
            return null;
        }

        try
        {
            return CommandTemplate.Parse(line);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{option}: {e.Message}");
        }
    }

    private static string ApiSocket(ParseResult parse) => parse.GetValue(ApiSocketOption) ?? ApiClient.DefaultSocket();

    /// <summary>Calls the agent; a refused request becomes exit code 1 with the agent's reason; no agent is exit code 3.</summary>
    private static JsonDocument Call(ParseResult parse, string op, Action<Utf8JsonWriter>? body = null)
    {
        string socket = ApiSocket(parse);
        JsonDocument answer;
        try
        {
            answer = ApiClient.Call(socket, op, body);
        }
        catch (SocketException e)
        {
            throw new AgentUnreachableException($"the agent is not reachable at {socket} ({e.SocketErrorCode}); start it with 'cardkeep agent' or give --api-socket");
        }

        if (!answer.RootElement.GetProperty("ok").GetBoolean())
        {
            string error = answer.RootElement.GetProperty("error").GetString() ?? "refused";
            answer.Dispose();
            throw new IOException(error);
        }

        return answer;
    }

    private static string? TtyName()
    {
        try
        {
            return File.ResolveLinkTarget("/proc/self/fd/0", returnFinalTarget: false)?.FullName is { } target && target.StartsWith("/dev/", StringComparison.Ordinal) ? target : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>The PIN or password pam_exec (expose_authtok) writes to stdin: read to EOF, trailing NUL/newline stripped.</summary>
internal static class PamSecret
{
    private const int MaxLength = 1024;

    public static byte[] ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        var buffer = new byte[MaxLength + 1];
        int filled = 0;
        while (filled < buffer.Length)
        {
            int read = stdin.Read(buffer, filled, buffer.Length - filled);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        try
        {
            if (filled > MaxLength)
            {
                throw new UsageException("the secret on stdin is longer than 1024 bytes");
            }

            return Strip(buffer.AsSpan(0, filled)).ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer);
        }
    }

    /// <summary>Linux-PAM before 1.4 sent the token with its NUL; a shell pipe adds a newline.</summary>
    public static ReadOnlySpan<byte> Strip(ReadOnlySpan<byte> secret)
    {
        while (!secret.IsEmpty && secret[^1] is 0 or (byte)'\n' or (byte)'\r')
        {
            secret = secret[..^1];
        }

        return secret;
    }
}

/// <summary>No agent listens on the API socket: exit code 3 (the environment is missing something).</summary>
internal sealed class AgentUnreachableException(string message) : IOException(message);
