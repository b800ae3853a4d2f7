using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;
using CardKeep.VirtualCard.Tests.Store;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>
/// A virtual card (weak test KDF) in a temp folder, its <see cref="PivApplet"/>, an <see cref="EmulatorChannel"/> and
/// a selected <see cref="PivSession"/>: the real client against the real card edge, in process.
/// </summary>
internal sealed class AppletHarness : IDisposable
{
    private readonly TempDir _dir = new();

    public AppletHarness(VscCreateOptions? options = null)
    {
        Card = TestCards.Create(_dir, options);
        Start();
    }

    public VirtualSmartCard Card { get; private set; }

    public PivApplet Applet { get; private set; }

    public EmulatorChannel Channel { get; private set; }

    public PivSession Session { get; private set; }

    public string CardPath => Card.Path;

    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>Sends raw APDU bytes straight to the applet (no chaining or GET RESPONSE help) and returns the hex answer.</summary>
    public string Send(string hex) => Convert.ToHexString(Applet.Process(Bytes(hex)));

    /// <summary>The status word (last 4 hex digits) of <see cref="Send"/>.</summary>
    public string Sw(string hex) => Send(hex)[^4..];

    public void AuthenticateDefault() =>
        Session.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey);

    public void VerifyPin(string pin = "123456") => Session.VerifyPin(TestCards.Ascii(pin));

    /// <summary>Closes everything, opens the card file again in a new object and starts a fresh applet session.</summary>
    public void Reopen()
    {
        Session.Dispose();
        Channel.Dispose();
        Card = TestCards.Reopen(Card);
        Start();
    }

    public void Dispose()
    {
        Session.Dispose();
        Channel.Dispose();
        Card.Dispose();
        _dir.Dispose();
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(Applet), nameof(Channel), nameof(Session))]
    private void Start()
    {
        Applet = new PivApplet(Card);
        Channel = new EmulatorChannel(Applet, "test");
        Session = PivSession.Open(Channel);
    }
}
