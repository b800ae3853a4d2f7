using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Cards.PcSc;
using CardKeep.Cards.Piv;
using CardKeep.Manager;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Cli.Commands;

/// <summary><c>cardkeep vsc keygen | transfer-keys</c>: key escrow for a card issuer.</summary>
internal static partial class VscCommands
{
    private static Command Keygen()
    {
        var slot = new Option<string>("--slot") { Description = "PIV slot: 9a, 9c, 9d, 9e or 82-95", Required = true };
        var alg = new Option<string>("--alg") { Description = "p256, p384 or rsa2048", Required = true };
        var subject = new Option<string?>("--subject") { Description = "Certificate subject, e.g. \"CN=Alice Example\" (default: CN=CardKeep escrow <VSC> <slot>)" };
        var command = new Command("keygen", "Generate a key pair and a self-signed certificate in an escrow VSC (for 'vsc transfer-keys')") { VscArgument, slot, alg, subject };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var pivSlot = ParseSlot(parse.GetValue(slot)!);
            var algorithm = parse.GetValue(alg)!.ToLowerInvariant() switch
            {
                "p256" => PivAlgorithm.EccP256,
                "p384" => PivAlgorithm.EccP384,
                "rsa2048" => PivAlgorithm.Rsa2048,
                var other => throw new UsageException($"--alg must be p256, p384 or rsa2048, not '{other}'"),
            };
            using var card = Paths.Store(parse).Open(parse.GetValue(VscArgument)!);
            string name = parse.GetValue(subject) ?? string.Create(CultureInfo.InvariantCulture, $"CN=CardKeep escrow {card.Header.Id} {(byte)pivSlot:X2}");
            try
            {
                using var certificate = Escrow.GenerateKey(card, pivSlot, algorithm, name);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated {algorithm.DisplayName()} key in slot {(byte)pivSlot:X2} of {card.Header.Id}; certificate {certificate.Subject}, SHA-256 {certificate.GetCertHashString(HashAlgorithmName.SHA256)}"));
            }
            catch (ManagerException e)
            {
                throw new UsageException(e.Message);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static PivSlot ParseSlot(string text)
    {
        if (byte.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte value)
            && (value is 0x9A or 0x9C or 0x9D or 0x9E || value is >= 0x82 and <= 0x95))
        {
            return (PivSlot)value;
        }

        throw new UsageException($"'{text}' is not a PIV key slot (9a, 9c, 9d, 9e, 82-95)");
    }

    private static Command TransferKeys()
    {
        var target = new Argument<string>("CARD") { Description = "The card in a reader to import the keys into (reader name, index or unique part)" };
        var pin = Secrets.Pin();
        var mgmt = Secrets.ManagementKey();
        var command = new Command("transfer-keys", "Import an escrow VSC's keys and certificates into a PIV card (IMPORT KEY)") { VscArgument, target, pin.Option, mgmt.Option };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            using var vsc = Paths.Store(parse).Open(parse.GetValue(VscArgument)!);
            byte[] pinBytes = pin.Read(parse);
            byte[] key = ReadManagementKey(parse, mgmt, out _);
            try
            {
                if (vsc.VerifyPin(pinBytes) is not PinResult.Verified verified)
                {
                    throw new UsageException($"the PIN of {vsc.Header.Id} is wrong ({vsc.PinRetriesLeft} tries left)");
                }

                using var unlock = verified.Unlock;
                using var context = PcscContext.Establish();
                string reader = CliSupport.ResolveReader(context, parse.GetValue(target)!.Replace("reader:", string.Empty, StringComparison.Ordinal));
                using var channel = context.Connect(reader);
                using var session = PivSession.Open(channel);
                using var objects = new PivCardObjects(session, reader);
                objects.AuthorizeWrites(key);
                var slots = Escrow.TransferKeys(vsc, unlock, session);
                Console.WriteLine($"imported {slots.Count} key{(slots.Count == 1 ? string.Empty : "s")} into '{reader}': {string.Join(", ", slots.Select(s => ((byte)s).ToString("X2", CultureInfo.InvariantCulture)))}");
                Console.WriteLine($"now lock the escrow copy away: 'cardkeep vsc export {vsc.Header.Id} FILE' and 'cardkeep vsc disable {vsc.Header.Id}'");
                return ExitCodes.Ok;
            }
            catch (ManagerException e)
            {
                throw new UsageException(e.Message);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pinBytes);
                CryptographicOperations.ZeroMemory(key);
            }
        }));
        return command;
    }
}
