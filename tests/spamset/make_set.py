#!/usr/bin/env python3
"""Generates the labelled ham/spam set in tests/spamset/ (see README.md).

    python3 tests/spamset/make_set.py                  # (re)write ham/*.eml and spam/*.eml
    python3 tests/spamset/make_set.py --now            # same, dated relative to the current time
    python3 tests/spamset/make_set.py --out DIR        # write ham/ and spam/ under DIR instead
    python3 tests/spamset/make_set.py --check          # score the written files with spamd
        [--spamd 127.0.0.1:17830] [--delivered 2026-11-23T12:00:00Z | now] [--markdown]

Every message is assembled byte by byte (CRLF line ends), with no randomness: IDs, boundaries
and the like are derived from the message name, and every Date is an offset from one base time.
By default the base time is fixed (BASE below), so the output is byte-identical on every run.
SpamAssassin's DATE_IN_PAST_* / DATE_IN_FUTURE_* rules compare Date: with the Received: header
the receiving MTA adds, so a test that delivers the set through a real MTA should generate it
with --now into a scratch directory right before delivery; see README.md.

--check feeds each file to `spamc -R` twice, as it would look after two kinds of delivery (see
as_delivered): one Postfix hop from an outside client, and the tests/mailserver sandbox path
(Postfix from 127.0.0.1, then Dovecot LMTP). Both are dated --delivered (default: the base
time). It prints both scores, the main symbols and the summary at the 5.0 threshold.
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import html
import re
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The instant the set is "delivered" at; every Date is an offset from it (see --now).
BASE = datetime.datetime(2026, 11, 23, 12, 0, 0, tzinfo=datetime.timezone.utc)

SUPPORT = "support@example.test"
THRESHOLD = 5.0

MESSAGES = []  # (label, name, function returning the raw bytes)

CODECS = {
    "us-ascii": "ascii",
    "utf-8": "utf-8",
    "iso-8859-1": "latin-1",
    "iso-8859-2": "iso8859_2",
    "iso-8859-8": "iso8859_8",
    "iso-8859-8-i": "iso8859_8",
    "windows-1250": "cp1250",
    "windows-1251": "cp1251",
    "windows-1255": "cp1255",
}


def message(label, name):
    """Registers a function building one message as ham/NAME.eml or spam/NAME.eml."""
    assert label in ("ham", "spam")

    def register(fn):
        assert all(n != name for _, n, _ in MESSAGES), name
        MESSAGES.append((label, name, fn))
        return fn

    return register


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------

def T(text):
    """A body text written indented in the source: dedented, leading newline dropped."""
    return textwrap.dedent(text).lstrip("\n")


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def codec(charset):
    return CODECS[charset.lower()]


def digest(name, salt=""):
    return hashlib.sha256((salt + "\0" + name).encode()).hexdigest()


def uuid_like(name, salt="uuid", upper=False):
    h = digest(name, salt)
    s = "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], "4" + h[13:16], "a" + h[17:20], h[20:32])
    return s.upper() if upper else s


def at(minutes, tz="+0000"):
    """The instant BASE + minutes (negative: before BASE), as seen in the time zone tz."""
    sign = 1 if tz[0] == "+" else -1
    offset = datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
    return (BASE + datetime.timedelta(minutes=minutes)).astimezone(datetime.timezone(offset))


def rfc_date(dt):
    return email.utils.format_datetime(dt)


# --- Message-IDs in the shapes real clients produce ------------------------------------------

def _filetime(dt):
    """Windows FILETIME (100 ns ticks since 1601) of dt; Outlook puts it in its Message-IDs."""
    return int(round((dt.timestamp() + 11644473600) * 10_000_000))


def mid_outlook_express(name, dt, host):
    """Outlook Express 6 / Outlook 2003: <SSSSHHHHHHHH$LLLLLLLL$IIIIIIII@host>, where H/L is
    the FILETIME of the sending moment (SpamAssassin checks it against Date:)."""
    ft = _filetime(dt) + int(digest(name, "ms")[:6], 16) % 9_000_000
    seq = int(digest(name, "seq")[:4], 16) % 0x0200
    ip = int(digest(name, "ip")[:8], 16) & 0xFFFF00C0 | 0x0000A8C0  # c0a8xxxx little-endian
    return "<%04x%08x$%08x$%08x@%s>" % (seq, ft >> 32, ft & 0xFFFFFFFF, ip, host)


def mid_outlook(name, dt, domain):
    """Outlook 2007 and later: <0000HHHHHHHH$LLLLLLLL$RRRRRRRR$@domain>."""
    ft = _filetime(dt) + int(digest(name, "ms")[:6], 16) % 9_000_000
    seq = int(digest(name, "seq")[:4], 16) % 0x0100
    return "<%04x%08x$%08x$%s$@%s>" % (seq, ft >> 32, ft & 0xFFFFFFFF, digest(name, "r")[:8], domain)


def mid_exchange_online(name, region="EUR"):
    """Microsoft 365 / Exchange Online: <AM0PR07MB1234...@AM0PR07MB1234.eurprd07.prod.outlook.com>."""
    h = digest(name, "exo").upper()
    server = {"EUR": "DB9PR08MB%s" % h[:4], "NAM": "BY5PR12MB%s" % h[:4]}[region]
    suffix = {"EUR": "eurprd08", "NAM": "namprd12"}[region]
    return "<%s%s%s@%s.%s.prod.outlook.com>" % (server, h[4:10], h[10:20], server, suffix)


def mid_gmail(name):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_-"
    raw = bytes.fromhex(digest(name, "gm") + digest(name, "gm2"))
    body = "".join(alphabet[b % len(alphabet)] for b in raw[:47])
    return "<CA%s@mail.gmail.com>" % (body[:1].upper() + body[1:])


def mid_uuid(name, domain, upper=False):
    """Thunderbird, Apple Mail, K-9 and many webmailers: <uuid@domain>."""
    return "<%s@%s>" % (uuid_like(name, upper=upper), domain)


def mid_roundcube(name, domain):
    return "<%s@%s>" % (digest(name, "rc")[:32], domain)


def mid_spamware(name, domain):
    """Bulk senders: a timestamp and a counter."""
    stamp = BASE.strftime("%Y%m%d%H%M%S")
    return "<%s.%s@%s>" % (stamp, int(digest(name, "n")[:6], 16), domain)


# --- headers ---------------------------------------------------------------------------------

def _q_word(data, charset):
    out = []
    for c in data:
        ch = chr(c)
        if c == 0x20:
            out.append("_")
        elif c < 128 and (ch.isalnum() or ch in "!*+-/"):
            out.append(ch)
        else:
            out.append("=%02X" % c)
    return "=?%s?Q?%s?=" % (charset, "".join(out))


def _b_word(data, charset):
    return "=?%s?B?%s?=" % (charset, base64.b64encode(data).decode("ascii"))


def encode_words(text, charset="utf-8", mode="Q"):
    """RFC 2047: text as encoded words of at most 75 characters (split between characters,
    never inside one), joined by folding whitespace."""
    make = _q_word if mode == "Q" else _b_word
    words, cur = [], ""
    for ch in text:
        if cur and len(make((cur + ch).encode(codec(charset)), charset)) > 75:
            words.append(make(cur.encode(codec(charset)), charset))
            cur = ch
        else:
            cur += ch
    words.append(make(cur.encode(codec(charset)), charset))
    return "\r\n ".join(words)


def subject(text, charset="utf-8", mode="Q"):
    if text.isascii():
        return text
    return encode_words(text, charset, mode)


def mailbox(name, addr, charset="utf-8", mode="Q"):
    if not name:
        return addr
    if name.isascii():
        if re.search(r'[()<>\[\]:;@\\,."]', name):
            return '"%s" <%s>' % (name.replace("\\", "\\\\").replace('"', '\\"'), addr)
        return "%s <%s>" % (name, addr)
    return "%s <%s>" % (encode_words(name, charset, mode), addr)


# --- bodies ----------------------------------------------------------------------------------

def qp(data):
    """Quoted-printable (RFC 2045) of CRLF-separated bytes; soft breaks keep lines <= 76."""
    out = []
    for line in data.split(b"\r\n"):
        toks = []
        for i, c in enumerate(line):
            last = i == len(line) - 1
            if (33 <= c <= 126 and c != 61) or (c in (9, 32) and not last):
                toks.append(chr(c))
            else:
                toks.append("=%02X" % c)
        cur, wrapped = "", []
        for tok in toks:
            if len(cur) + len(tok) > 75:
                wrapped.append(cur + "=")
                cur = tok
            else:
                cur += tok
        wrapped.append(cur)
        out.append("\r\n".join(wrapped))
    return "\r\n".join(out).encode("ascii")


def b64(data, width=76):
    s = base64.b64encode(data).decode("ascii")
    return ("\r\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\r\n").encode("ascii")


class Part:
    def __init__(self, headers, body):
        self.headers = headers  # [(name, value)], values ASCII, folded with CRLF + WSP
        self.body = body        # bytes, ending in CRLF

    def header_bytes(self):
        return "".join("%s: %s\r\n" % hv for hv in self.headers).encode("ascii")


def text(content, charset="utf-8", cte="quoted-printable", subtype="plain", params="", quote=True):
    """One text/* part. content: str (any line ends; a final line end is added)."""
    data = crlf(content if content.endswith("\n") else content + "\n").encode(codec(charset))
    if cte == "quoted-printable":
        body = qp(data)
    elif cte == "base64":
        body = b64(data)
    else:
        assert cte in ("7bit", "8bit"), cte
        assert cte == "8bit" or data.isascii()
        assert all(len(line) <= 998 for line in data.split(b"\r\n"))
        body = data
    cs = '"%s"' % charset if quote else charset
    headers = [("Content-Type", "text/%s; charset=%s%s" % (subtype, cs, params)),
               ("Content-Transfer-Encoding", cte)]
    return Part(headers, body)


def multipart(subtype, parts, boundary, preamble=None):
    body = b""
    if preamble:
        body += preamble.encode("ascii") + b"\r\n\r\n"
    for p in parts:
        body += b"--" + boundary.encode("ascii") + b"\r\n" + p.header_bytes() + b"\r\n" + p.body
    body += b"--" + boundary.encode("ascii") + b"--\r\n"
    return Part([("Content-Type", 'multipart/%s;\r\n\tboundary="%s"' % (subtype, boundary))], body)


def attachment(data, content_type, filename):
    return Part([("Content-Type", '%s;\r\n\tname="%s"' % (content_type, filename)),
                 ("Content-Transfer-Encoding", "base64"),
                 ("Content-Disposition", 'attachment;\r\n\tfilename="%s"' % filename)],
                b64(data))


def build(headers, part):
    """A whole message: the given header fields, MIME-Version, then the part's own fields."""
    names = [n.lower() for n, _ in headers]
    for required in ("from", "to", "subject"):
        assert required in names, required
    assert "received" not in names
    assert not any(n.startswith("x-spam") for n in names)
    fields = list(headers) + [("MIME-Version", "1.0")] + part.headers
    head = "".join("%s: %s\r\n" % hv for hv in fields).encode("ascii")
    return head + b"\r\n" + part.body


# --- client-shaped HTML and boundaries -------------------------------------------------------

def esc(s):
    return html.escape(s, quote=False)


def outlook_html(content, charset, lang="EN-US"):
    """What Outlook 2010-2021 (Word as editor) makes of a plain text: one MsoNormal per line."""
    paras = []
    for line in content.rstrip("\n").split("\n"):
        if line.strip():
            paras.append("<p class=MsoNormal>%s<o:p></o:p></p>" % esc(line))
        else:
            paras.append("<p class=MsoNormal><o:p>&nbsp;</o:p></p>")
    return (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:w="urn:schemas-microsoft-com:office:word" '
        'xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">'
        "<head><meta http-equiv=Content-Type content=\"text/html; charset=%s\">"
        '<meta name=Generator content="Microsoft Word 15 (filtered medium)">'
        "<style><!--\n"
        "/* Font Definitions */\n"
        "@font-face\n\t{font-family:Calibri;\n\tpanose-1:2 15 5 2 2 2 4 3 2 4;}\n"
        "/* Style Definitions */\n"
        "p.MsoNormal, li.MsoNormal, div.MsoNormal\n"
        "\t{margin:0cm;\n\tfont-size:11.0pt;\n\tfont-family:\"Calibri\",sans-serif;}\n"
        "span.EmailStyle17\n\t{mso-style-type:personal-compose;\n\tfont-family:\"Calibri\",sans-serif;}\n"
        "@page WordSection1\n\t{size:612.0pt 792.0pt;\n\tmargin:70.85pt 70.85pt 70.85pt 70.85pt;}\n"
        "div.WordSection1\n\t{page:WordSection1;}\n"
        "--></style></head>"
        "<body lang=%s link=\"#0563C1\" vlink=\"#954F72\" style='word-wrap:break-word'>"
        "<div class=WordSection1>%s</div></body></html>\n"
    ) % (charset, lang, "".join(paras))


def gmail_html(content, rtl=False):
    """Gmail's web composer: a div per line, <br> for empty ones."""
    attr = ' dir="rtl"' if rtl else ' dir="ltr"'
    rows = []
    for line in content.rstrip("\n").split("\n"):
        rows.append("<div%s>%s</div>" % (attr, esc(line) if line.strip() else "<br>"))
    return "<div dir=\"%s\">%s</div>\n" % ("rtl" if rtl else "ltr", "".join(rows))


def thunderbird_html(content, rtl=False):
    dir_attr = ' dir="rtl"' if rtl else ""
    paras = []
    for block in content.rstrip("\n").split("\n\n"):
        paras.append("    <p%s>%s</p>\n" % (dir_attr, "<br>\n      ".join(esc(l) for l in block.split("\n"))))
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">\n'
        "  </head>\n  <body%s>\n%s  </body>\n</html>\n"
    ) % (dir_attr, "".join(paras))


def b_outlook(name):
    h = digest(name, "b").upper()
    return "----=_NextPart_000_%s_%s.%s" % (h[0:4], "01DC" + h[4:8], h[8:16])


def b_gmail(name):
    return "000000000000" + digest(name, "b")[:12]


def b_thunderbird(name):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    raw = bytes.fromhex(digest(name, "b"))
    return "------------" + "".join(alphabet[b % len(alphabet)] for b in raw[:24])


def b_apple(name):
    return "Apple-Mail=_" + uuid_like(name, "b", upper=True)


def b_generic(name, prefix="----=_Part_"):
    h = digest(name, "b")
    return "%s%d_%d.%d" % (prefix, int(h[:4], 16), int(h[4:12], 16), int(h[12:22], 16))


def fake_pdf(title):
    """A few hundred bytes that look like a one-page PDF (no compression, no clock)."""
    stream = "BT /F1 14 Tf 72 770 Td (" + title + ") Tj ET\n"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length %d >>\nstream\n%sendstream" % (len(stream), stream),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out.encode("latin-1")))
        out += "%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out.encode("latin-1"))
    out += "xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += "".join("%010d 00000 n \n" % o for o in offsets)
    out += "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out.encode("latin-1")


# ============================================================================================
# Ham: customers writing to support@example.test
# ============================================================================================

# --- Hungarian --------------------------------------------------------------------------------

@message("ham", "hu-01-tarhely-megtelt")
def _():
    name = "hu-01-tarhely-megtelt"
    dt = at(-142, "+0100")
    body = T("""
        Tisztelt Ügyfélszolgálat!

        Tegnap délután óta nem érkeznek meg a levelek a pekseg-kovacs.test címekre.
        A webmailben azt írja ki, hogy a postafiók megtelt (2048 MB / 2048 MB).
        Kitöröltem a régi leveleket a Beérkezett üzenetek és az Elküldött elemek
        mappából is, de a kijelzés nem változott.

        Meg lehet emelni a tárhely méretét? Ha ez plusz költséggel jár, kérem,
        írják meg, mennyibe kerül havonta.

        Az ügyfélszámunk: HU-20417.

        Köszönöm a segítséget!

        Üdvözlettel:
        Kovács Anna
        Kovács Pékség Kft.
        Tel.: +36 30 555 0142
        """)
    return build([
        ("Date", rfc_date(dt)),
        ("From", mailbox("Kovács Anna", "kovacs.anna@pekseg-kovacs.test", "iso-8859-2")),
        ("X-Mailer", "The Bat! (v10.4.1) Professional"),
        ("Organization", subject("Kovács Pékség Kft.", "iso-8859-2")),
        ("X-Priority", "3 (Normal)"),
        ("Message-ID", "<%d.%s@pekseg-kovacs.test>" % (
            int(digest(name, "bat")[:7], 16), dt.strftime("%Y%m%d%H%M%S"))),
        ("To", mailbox("Example Support", SUPPORT)),
        ("Subject", subject("Betelt a postafiók, nem jönnek a levelek", "iso-8859-2")),
    ], text(body, "iso-8859-2", "quoted-printable", quote=False))


@message("ham", "hu-02-penztar-hiba-html")
def _():
    name = "hu-02-penztar-hiba-html"
    dt = at(-96, "+0100")
    body = T("""
        Jó napot kívánok!

        A tegnapi PHP-frissítés óta a webáruházunk (kertiszerszam-bolt.test) pénztár oldala nem működik: a „Megrendelés elküldése” gombra kattintva „500 Internal Server Error” hibaüzenet jelenik meg, így a vásárlók nem tudják leadni a rendelésüket.

        A termékoldalak és a kosár rendben betöltődnek, csak a fizetési lépésnél jön a hiba. A vezérlőpultban láttam, hogy a PHP verziója 8.1-ről 8.3-ra változott – lehet, hogy ez okozza? Vissza lehet állítani a régi verziót, amíg a webfejlesztőnk átnézi a bővítményeket?

        Sürgős lenne, mert a hétvégi akció miatt most sok a rendelés.

        Köszönettel:
        Tóth Gábor
        ügyvezető
        Kertiszerszám Bolt Kft.
        +36 20 555 0187
        """)
    alt = multipart("alternative", [
        text(body, "windows-1250", "quoted-printable"),
        text(outlook_html(body, "windows-1250", "HU"), "windows-1250", "quoted-printable", "html"),
    ], b_outlook(name))
    return build([
        ("From", mailbox("Tóth Gábor", "toth.gabor@kertiszerszam-bolt.test", "windows-1250")),
        ("To", SUPPORT),
        ("Subject", subject("Hibaüzenet a webáruház pénztár oldalán", "windows-1250")),
        ("Date", rfc_date(dt)),
        ("Message-ID", mid_exchange_online(name)),
        ("Accept-Language", "hu-HU, en-US"),
        ("Content-Language", "hu-HU"),
        ("Thread-Topic", subject("Hibaüzenet a webáruház pénztár oldalán", "windows-1250")),
        ("Thread-Index", "AdtdF" + base64.b64encode(bytes.fromhex(digest(name, "ti")[:30])).decode()),
    ], alt)


@message("ham", "hu-03-jelszo-visszaallitas")
def _():
    name = "hu-03-jelszo-visszaallitas"
    dt = at(-77, "+0100")
    body = T("""
        Tisztelt Ügyfélszolgálat!

        Nem tudok belépni az ügyfélkapuba, mert elfelejtettem a jelszavamat.
        Az „Elfelejtett jelszó” gombra kattintva az oldal azt írja ki, hogy a
        jelszó-visszaállító linket elküldték az e-mail címemre, de már háromszor
        próbáltam, és egyszer sem érkezett meg a levél (a levélszemét mappában
        sincs).

        Felhasználónevem: szabo.peter, ügyfélszámom: HU-31877.

        Kérem, állítsák vissza a jelszavamat, vagy küldjék el a linket erre a
        címre. Ha igazolni kell, hogy tényleg én vagyok, szívesen megadom a
        legutóbbi számla sorszámát is.

        Köszönöm:
        Szabó Péter
        """)
    return build([
        ("Date", rfc_date(dt)),
        ("From", mailbox("Szabó Péter", "szabo.peter@szabo-konyveles.test", "UTF-8", "B")),
        ("To", SUPPORT),
        ("Subject", subject("Nem érkezik meg a jelszó-visszaállító e-mail", "UTF-8", "B")),
        ("Message-ID", mid_roundcube(name, "szabo-konyveles.test")),
        ("User-Agent", "Roundcube Webmail/1.6.9"),
    ], text(body, "UTF-8", "base64"))


@message("ham", "hu-04-re-szamla-modositas")
def _():
    name = "hu-04-re-szamla-modositas"
    dt = at(-31, "+0100")
    body = T("""
        Kedves Kata!

        Köszönöm a gyors választ és az új számlát. Sajnos a cégnév még mindig
        nem stimmel: a számlán „Nagy és Tarsa Bt.” szerepel, de helyesen
        „Nagy és Társa Bt.” (ékezettel). A könyvelő szerint így nem tudja
        befogadni.

        Az adószám most már jó (12345678-2-13).

        Ha lehet, kérem, javítsák ezt is, és küldjék el újra a számlát.

        Üdvözlettel:
        Nagy Eszter

        2026. 11. 20. 14:12 keltezéssel, Example Support írta:
        > Kedves Nagy Eszter!
        >
        > Mellékelten küldjük a javított számlát az új adószámmal. Elnézést
        > kérünk a hibáért.
        >
        > Üdvözlettel:
        > Horváth Kata
        > Example Support
        """)
    parent = "<ticket-48213-3.%s@example.test>" % digest(name, "p")[:10]
    return build([
        ("Message-ID", mid_uuid(name, "nagyestarsa.test")),
        ("Date", rfc_date(dt)),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Subject", subject("Re: [#48213] Számla módosítása", "UTF-8")),
        ("Content-Language", "hu"),
        ("To", mailbox("Example Support", SUPPORT)),
        ("References", "<ticket-48213-1.%s@example.test>\r\n %s" % (digest(name, "r")[:10], parent)),
        ("From", mailbox("Nagy Eszter", "nagy.eszter@nagyestarsa.test", "UTF-8")),
        ("In-Reply-To", parent),
    ], text(body, "UTF-8", "quoted-printable"))


# --- Czech ------------------------------------------------------------------------------------

@message("ham", "cs-01-prevod-domeny")
def _():
    name = "cs-01-prevod-domeny"
    dt = at(-166, "+0100")
    body = T("""
        Dobrý den,

        rád bych převedl doménu novak-truhlarstvi.test od současného registrátora
        k Vám, protože už u Vás máme webhosting.

        Můžete mi prosím napsat, jak postupovat? Pokud jsem správně pochopil,
        potřebuji od starého registrátora AUTH-INFO kód. Mám ho poslat Vám
        e-mailem, nebo ho zadám někde v zákaznické administraci?

        A ještě jedna otázka: bude během převodu fungovat e-mail na adrese
        info@novak-truhlarstvi.test? Nerad bych přišel o objednávky od zákazníků.

        Děkuji a přeji hezký den
        Jan Novák
        Truhlářství Novák
        tel. 603 555 012
        """)
    return build([
        ("Message-ID", mid_uuid(name, "novak-truhlarstvi.test")),
        ("Date", rfc_date(dt)),
        ("From", mailbox("Jan Novák", "jan.novak@novak-truhlarstvi.test", "ISO-8859-2")),
        ("User-Agent", "Mozilla/5.0 (Windows NT 6.1; rv:52.0) Gecko/20100101\r\n Thunderbird/52.9.1"),
        ("To", SUPPORT),
        ("Subject", subject("Převod domény k Vám - jak získat AUTH-INFO?", "ISO-8859-2")),
        ("Content-Language", "cs"),
    ], text(body, "ISO-8859-2", "quoted-printable"))


@message("ham", "cs-02-certifikat-html")
def _():
    name = "cs-02-certifikat-html"
    dt = at(-58, "+0100")
    body = T("""
        Dobrý den,

        od dnešního rána se při otevření našeho webu zubni-ordinace-dvorakova.test zobrazuje v prohlížeči varování „Vaše připojení není soukromé“ a pacienti nám volají, jestli jsme nebyli napadeni.

        Když kliknu na zámek vedle adresy, píše to, že certifikát vypršel 22. 11. 2026. Myslela jsem, že se certifikát Let’s Encrypt obnovuje automaticky. Můžete se prosím podívat, proč se neobnovil, a obnovit ho?

        Děkuji
        MUDr. Petra Dvořáková
        Zubní ordinace Dvořáková
        tel. 545 555 104
        """)
    alt = multipart("alternative", [
        text(body, "windows-1250", "quoted-printable"),
        text(outlook_html(body, "windows-1250", "CS"), "windows-1250", "quoted-printable", "html"),
    ], b_outlook(name))
    return build([
        ("From", mailbox("Petra Dvořáková", "dvorakova@zubni-ordinace-dvorakova.test", "windows-1250")),
        ("To", mailbox("Example Support", SUPPORT)),
        ("Subject", subject("Web hlásí „Připojení není soukromé“ – vypršel certifikát?",
                            "windows-1250")),
        ("Date", rfc_date(dt)),
        ("Message-ID", mid_exchange_online(name)),
        ("Accept-Language", "cs-CZ, en-US"),
        ("Content-Language", "cs-CZ"),
        ("Thread-Topic", subject("Web hlásí „Připojení není soukromé“ – vypršel certifikát?",
                                 "windows-1250")),
        ("Thread-Index", "AdtdH" + base64.b64encode(bytes.fromhex(digest(name, "ti")[:30])).decode()),
    ], alt)


@message("ham", "cs-03-faktura-ico-priloha")
def _():
    name = "cs-03-faktura-ico-priloha"
    dt = at(-118, "+0100")
    body = T("""
        Dobrý den,

        v příloze posílám fakturu č. 2026-1187, kterou jsme od Vás dostali za prodloužení hostingu. Na faktuře je uvedeno chybné IČO 27182818, správně má být 27182811 (Horák Elektro s.r.o.).

        Částku 1 452 Kč jsme již uhradili převodem 16. 11., variabilní symbol 20261187.

        Pošlete nám prosím opravený daňový doklad, účetní ho potřebuje do konce měsíce.

        S pozdravem
        Tomáš Horák
        Horák Elektro s.r.o.
        """)
    mixed = multipart("mixed", [
        text(body, "utf-8", "quoted-printable"),
        attachment(fake_pdf("Faktura 2026-1187"), "application/pdf", "faktura_2026-1187.pdf"),
    ], b_apple(name))
    return build([
        ("From", mailbox("Tomáš Horák", "tomas.horak@horak-elektro.test", "utf-8")),
        ("Subject", subject("Chybné IČO na faktuře 2026-1187", "utf-8")),
        ("Message-Id", mid_uuid(name, "horak-elektro.test", upper=True)),
        ("Date", rfc_date(dt)),
        ("To", SUPPORT),
        ("X-Mailer", "Apple Mail (2.3826.300.87.4.3)"),
    ], mixed)


@message("ham", "cs-04-obnova-zalohy")
def _():
    name = "cs-04-obnova-zalohy"
    dt = at(-24, "+0100")
    body = T("""
        Dobrý den,

        omylem jsem včera večer smazala ve WordPressu asi dvacet příspěvků z blogu naší kavárny (kavarna-u-mostu.test) a koš jsem bohužel vysypala.

        Bylo by možné obnovit databázi ze zálohy z 21. 11. 2026? Databáze se jmenuje wp_kavarna. Od té doby jsme na webu nic jiného neměnili, takže nevadí, když se vrátí celá.

        Pokud je obnova zpoplatněná, dejte mi prosím vědět předem.

        Děkuji moc
        Lucie Marková
        """)
    return build([
        ("Date", rfc_date(dt)),
        ("Subject", subject("Prosím o obnovu databáze ze zálohy", "UTF-8", "B")),
        ("To", SUPPORT),
        ("From", mailbox("Lucie Marková", "lucie.markova@kavarna-u-mostu.test", "UTF-8", "B")),
        ("Message-ID", mid_uuid(name, "email.android.com")),
        ("User-Agent", "K-9 Mail for Android"),
    ], text(body, "UTF-8", "base64"))


# --- Polish -----------------------------------------------------------------------------------

@message("ham", "pl-01-korekta-faktury")
def _():
    name = "pl-01-korekta-faktury"
    dt = at(-151, "+0100")
    body = T("""
        Dzień dobry,

        na fakturze VAT nr FV/2026/11/0342 z dnia 10.11.2026 podano błędny NIP
        nabywcy: 525-000-00-00. Prawidłowy NIP naszej firmy to 525-123-45-67.

        Płatność w kwocie 369,00 zł (300,00 zł netto + 23% VAT) została
        zrealizowana przelewem 18.11.2026, tytuł przelewu: FV/2026/11/0342.

        Proszę o wystawienie faktury korygującej i przesłanie jej na ten adres
        e-mail.

        Z poważaniem
        Marek Kowalczyk
        Kowalczyk Transport Sp. z o.o.
        tel. 22 555 01 47
        """)
    return build([
        ("From", mailbox("Marek Kowalczyk", "m.kowalczyk@kowalczyk-transport.test", "iso-8859-2")),
        ("To", mailbox("Example Support", SUPPORT)),
        ("Subject", subject("Prośba o korektę faktury VAT nr FV/2026/11/0342", "iso-8859-2")),
        ("Date", rfc_date(dt)),
        ("Message-ID", mid_outlook(name, dt, "kowalczyk-transport.test")),
        ("X-Mailer", "Microsoft Office Outlook 12.0"),
        ("Thread-Index", "AckB" + base64.b64encode(bytes.fromhex(digest(name, "ti")[:30])).decode()),
        ("Content-Language", "pl"),
    ], text(body, "iso-8859-2", "quoted-printable"))


@message("ham", "pl-02-blad-500-html")
def _():
    name = "pl-02-blad-500-html"
    dt = at(-69, "+0100")
    body = T("""
        Dzień dobry,

        od wczoraj wieczorem nasza strona salon-kasia.test pokazuje tylko komunikat „500 Internal Server Error”. Wcześniej w panelu pojawiło się powiadomienie o aktualizacji PHP, więc podejrzewam, że to może mieć związek.

        Klientki nie mogą się umówić na wizytę przez formularz rezerwacji, więc sprawa jest dla nas dość pilna.

        Czy możecie sprawdzić, co się stało, albo przywrócić poprzednią wersję PHP?

        Pozdrawiam serdecznie
        Katarzyna Wiśniewska
        Salon Fryzjerski Kasia
        """)
    alt = multipart("alternative", [
        text(body, "UTF-8", "base64"),
        text(gmail_html(body), "UTF-8", "base64", "html"),
    ], b_gmail(name))
    return build([
        ("Date", rfc_date(dt)),
        ("Message-ID", mid_gmail(name)),
        ("Subject", subject("Strona nie działa – błąd 500 po aktualizacji", "UTF-8", "B")),
        ("From", mailbox("Katarzyna Wiśniewska", "kasia@salon-kasia.test", "UTF-8", "B")),
        ("To", SUPPORT),
    ], alt)


@message("ham", "pl-03-zgubiony-telefon-2fa")
def _():
    name = "pl-03-zgubiony-telefon-2fa"
    dt = at(-44, "+0100")
    body = T("""
        Dzień dobry,

        w zeszłym tygodniu zgubiłem telefon, na którym miałem aplikację do
        logowania dwuskładnikowego, i teraz nie mogę zalogować się do panelu
        klienta. Kodów zapasowych niestety nie zapisałem.

        Login: zielinski-biuro, numer klienta: PL-22715.

        Czy możecie wyłączyć weryfikację dwuetapową na moim koncie, żebym mógł
        ją skonfigurować na nowym telefonie? Mogę potwierdzić tożsamość numerem
        ostatniej faktury albo zadzwonić z numeru telefonu podanego w danych
        konta.

        Z góry dziękuję
        Andrzej Zieliński
        Biuro Rachunkowe Zieliński
        """)
    return build([
        ("From", mailbox("Andrzej Zieliński", "andrzej.zielinski@zielinski-biuro.test", "windows-1250")),
        ("To", mailbox("Example Support", SUPPORT)),
        ("Subject", subject("Nie mogę zalogować się do panelu – zgubiony telefon z aplikacją 2FA",
                            "windows-1250")),
        ("Date", rfc_date(dt)),
        ("Message-ID", "<%s@DESKTOP-AZ7>" % digest(name, "wlm")[:32].upper()),
        ("X-Mailer", "Microsoft Windows Live Mail 16.4.3528.331"),
        ("X-MimeOLE", "Produced By Microsoft MimeOLE V16.4.3528.331"),
        ("X-Priority", "3"),
        ("X-MSMail-Priority", "Normal"),
        ("Importance", "Normal"),
    ], text(body, "windows-1250", "quoted-printable", params=";\r\n\tformat=flowed"))


@message("ham", "pl-04-rekordy-mx-spf")
def _():
    name = "pl-04-rekordy-mx-spf"
    dt = at(-13, "+0100")
    body = T("""
        Dzień dobry,

        przenosimy pocztę firmową do Microsoft 365, ale strona
        lewandowska-architekci.test ma zostać u Państwa. Domena jest
        zarejestrowana u Państwa i korzysta z Państwa serwerów DNS.

        Proszę o zmianę następujących rekordów DNS:

          MX     0 lewandowska-architekci-test.mail.protection.outlook.com
          TXT    "v=spf1 include:spf.protection.outlook.com -all"
          CNAME  autodiscover -> autodiscover.outlook.com

        Przeniesienie planujemy na piątek 27.11 po godzinie 18:00, więc
        najlepiej byłoby zmienić rekordy właśnie wtedy. Czy to możliwe, czy
        powinniśmy zrobić to sami w panelu?

        Pozdrawiam
        Ewa Lewandowska
        Lewandowska Architekci
        """)
    return build([
        ("Message-ID", mid_uuid(name, "lewandowska-architekci.test")),
        ("Date", rfc_date(dt)),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Content-Language", "pl"),
        ("To", SUPPORT),
        ("From", mailbox("Ewa Lewandowska", "ewa@lewandowska-architekci.test")),
        ("Subject", subject("Ustawienie rekordów MX i SPF dla Microsoft 365", "UTF-8")),
    ], text(body, "UTF-8", "quoted-printable"))


# --- Hebrew -----------------------------------------------------------------------------------

@message("ham", "he-01-teva-doar-mele")
def _():
    name = "he-01-teva-doar-mele"
    dt = at(-128, "+0200")
    body = T("""
        שלום רב,

        מאז אתמול בצהריים אני מקבל הודעה שתיבת הדואר שלי מלאה, ולקוחות מדווחים
        שהמיילים שהם שולחים לי חוזרים אליהם.
        מחקתי הרבה הודעות ישנות מתיבת הדואר הנכנס ומהפריטים שנשלחו, אבל ההודעה
        עדיין מופיעה.

        האם אפשר להגדיל את נפח התיבה? אם יש בזה עלות נוספת, אשמח לדעת כמה זה
        יעלה (היום אנחנו משלמים 49 ₪ לחודש).

        שם המשתמש: dani@cohen-law.test
        מספר לקוח: 30412

        תודה מראש,
        דני כהן
        כהן ושות' - משרד עורכי דין
        טל' 03-5550142
        """)
    return build([
        ("From", mailbox("דני כהן", "dani@cohen-law.test", "windows-1255", "B")),
        ("To", mailbox("Example Support", SUPPORT)),
        ("Subject", subject("תיבת הדואר מלאה - לא מתקבלים מיילים", "windows-1255", "B")),
        ("Date", rfc_date(dt)),
        # Outlook 2010 on an on-premises Exchange 2010 (which sets no X-Mailer).
        ("Message-ID", "<%s@EXCH01.cohen-law.local>" % digest(name, "exch")[:40].upper()),
        ("Accept-Language", "he-IL, en-US"),
        ("Content-Language", "he-IL"),
        ("Thread-Topic", subject("תיבת הדואר מלאה - לא מתקבלים מיילים", "windows-1255", "B")),
        ("Thread-Index", "AdlK" + base64.b64encode(bytes.fromhex(digest(name, "ti")[:30])).decode()),
    ], text(body, "windows-1255", "quoted-printable"))


@message("ham", "he-02-cheshbonit-mas")
def _():
    name = "he-02-cheshbonit-mas"
    dt = at(-88, "+0200")
    body = T("""
        שלום,

        ב-15.11 שילמתי בכרטיס אשראי על חידוש שנתי של חבילת האחסון
        (1,180 ש"ח כולל מע"מ), אבל עד היום לא קיבלתי חשבונית.
        רואה החשבון שלי צריך חשבונית מס קבלה על שם העסק עד סוף החודש.

        פרטי העסק:
        לוי עיצוב גרפי בע"מ
        ח.פ. 512345678
        רחוב הרצל 12, חיפה

        אפשר לשלוח את החשבונית לכתובת הזאת?

        בברכה,
        מיכל לוי
        """)
    return build([
        ("Date", rfc_date(dt)),
        ("From", mailbox("מיכל לוי", "michal@levi-design.test", "ISO-8859-8-I", "B")),
        ("To", SUPPORT),
        ("Subject", subject("בקשה לחשבונית מס קבלה", "ISO-8859-8-I", "B")),
        ("Message-ID", mid_roundcube(name, "levi-design.test")),
        ("User-Agent", "Roundcube Webmail/1.4.15"),
    ], text(body, "ISO-8859-8-I", "base64"))


@message("ham", "he-03-atar-iti-html")
def _():
    name = "he-03-atar-iti-html"
    dt = at(-52, "+0200")
    body = T("""
        היי,

        מאז יום חמישי האתר שלנו avraham-tours.test נטען לאט מאוד - לפעמים לוקח יותר מ-10 שניות עד שהדף הראשי מופיע, וגם ממשק הניהול של וורדפרס כמעט לא עובד.
        לא שינינו שום דבר באתר בזמן האחרון ולא התקנו תוספים חדשים.

        האם יש בעיה בשרת? או שאנחנו צריכים לעבור לחבילה גדולה יותר?
        זו תקופה עמוסה אצלנו (הזמנות לחנוכה), אז אשמח לתשובה מהירה.

        תודה,
        יוסי אברהם
        אברהם טיולים
        054-5550178
        """)
    alt = multipart("alternative", [
        text(body, "UTF-8", "quoted-printable", params="; format=flowed"),
        text(thunderbird_html(body, rtl=True), "UTF-8", "quoted-printable", "html"),
    ], b_thunderbird(name), preamble="This is a multi-part message in MIME format.")
    return build([
        ("Message-ID", mid_uuid(name, "avraham-tours.test")),
        ("Date", rfc_date(dt)),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Content-Language", "he"),
        ("To", SUPPORT),
        ("From", mailbox("יוסי אברהם", "yossi@avraham-tours.test", "UTF-8", "B")),
        ("Subject", subject("האתר נטען לאט מאוד מאז יום חמישי", "UTF-8", "B")),
    ], alt)


@message("ham", "he-04-re-hagdarat-doar-iphone")
def _():
    name = "he-04-re-hagdarat-doar-iphone"
    dt = at(-9, "+0200")
    body = T("""
        תודה על התשובה.
        הגדרתי לפי ההוראות (IMAP, שרת mail.example.test, פורט 993 עם SSL), אבל האייפון עדיין כותב "לא ניתן לאמת את זהות השרת" ולא מוריד הודעות. במחשב הכול עובד רגיל.
        יש עוד משהו שצריך לשנות?

        רונית

        נשלח מה-iPhone שלי

        > ב-21 בנוב׳ 2026, בשעה 11:05, \u200fExample Support <support@example.test> כתב/ה:
        >\u200f
        > \u200fשלום רונית,
        > 
        > כדי להגדיר את תיבת הדואר באייפון יש לבחור "חשבון אחר" ולהזין:
        > שרת נכנס: mail.example.test, פורט 993, SSL
        > שרת יוצא: mail.example.test, פורט 465, SSL
        > שם משתמש: כתובת המייל המלאה
        > 
        > בברכה,
        > צוות התמיכה
        """)
    parent = "<ticket-52310-1.%s@example.test>" % digest(name, "p")[:10]
    return build([
        ("From", mailbox("רונית שפירא", "ronit.shapira@shapira-clinic.test", "utf-8", "B")),
        ("Subject", subject("Re: [#52310] הגדרת דואר באייפון", "utf-8", "B")),
        ("Date", rfc_date(dt)),
        ("Message-Id", mid_uuid(name, "shapira-clinic.test", upper=True)),
        ("References", parent),
        ("In-Reply-To", parent),
        ("To", mailbox("Example Support", SUPPORT)),
        ("X-Mailer", "iPhone Mail (22B91)"),
    ], text(body, "utf-8", "base64"))


# --- German -----------------------------------------------------------------------------------

@message("ham", "de-01-kuendigung")
def _():
    name = "de-01-kuendigung"
    dt = at(-171, "+0100")
    body = T("""
        Sehr geehrte Damen und Herren,

        hiermit kündige ich fristgerecht mein Webhosting-Paket "Business M"
        (Kundennummer 70815, Vertrag WH-2019-3312) zum Ende der Vertragslaufzeit
        am 31.12.2026.

        Die Domain weiss-fotografie.test möchte ich behalten und zu einem anderen
        Anbieter umziehen. Bitte senden Sie mir dafür den AuthCode zu und geben
        Sie die Domain zum 31.12. frei.

        Bitte bestätigen Sie mir den Eingang der Kündigung und das Vertragsende
        schriftlich per E-Mail.

        Mit freundlichen Grüßen

        Jürgen Weiß
        Weiß Fotografie
        Lindenstraße 14
        79098 Freiburg
        """)
    return build([
        ("Message-ID", mid_uuid(name, "weiss-fotografie.test")),
        ("Date", rfc_date(dt)),
        ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101\r\n"
                       " Thunderbird/115.16.0"),
        ("Content-Language", "de-DE"),
        ("To", SUPPORT),
        ("From", mailbox("Jürgen Weiß", "j.weiss@weiss-fotografie.test", "ISO-8859-1")),
        ("Subject", subject('Kündigung Webhosting-Paket "Business M" zum 31.12.2026', "ISO-8859-1")),
    ], text(body, "ISO-8859-1", "quoted-printable"))


@message("ham", "de-02-doppelt-abgebucht-html")
def _():
    name = "de-02-doppelt-abgebucht-html"
    dt = at(-104, "+0100")
    body = T("""
        Guten Tag,

        bei der Prüfung unserer Kontoauszüge ist mir aufgefallen, dass der Betrag der Rechnung RE-2026-08817 (47,88 EUR) am 02.11. und am 04.11.2026 zweimal per SEPA-Lastschrift von unserem Geschäftskonto abgebucht wurde.

        Bitte erstatten Sie den doppelt eingezogenen Betrag auf das bei Ihnen hinterlegte Konto oder verrechnen Sie ihn mit der nächsten Rechnung. Eine kurze Bestätigung wäre nett, damit unsere Buchhaltung den Vorgang zuordnen kann.

        Kundennummer: 41177

        Vielen Dank und freundliche Grüße

        Sabine Müller
        Müller & Partner Steuerberatung
        Tel. 0221 5550193
        """)
    alt = multipart("alternative", [
        text(body, "iso-8859-1", "quoted-printable"),
        text(outlook_html(body, "iso-8859-1", "DE"), "iso-8859-1", "quoted-printable", "html"),
    ], b_outlook(name))
    return build([
        ("From", mailbox("Sabine Müller", "s.mueller@mueller-steuerberatung.test", "iso-8859-1")),
        ("To", mailbox("Example Support", SUPPORT)),
        ("Subject", "Rechnung RE-2026-08817 doppelt abgebucht"),
        ("Date", rfc_date(dt)),
        ("Message-ID", mid_exchange_online(name)),
        ("Accept-Language", "de-DE, en-US"),
        ("Content-Language", "de-DE"),
        ("Thread-Topic", "Rechnung RE-2026-08817 doppelt abgebucht"),
        ("Thread-Index", "AdtdG" + base64.b64encode(bytes.fromhex(digest(name, "ti")[:30])).decode()),
    ], alt)


@message("ham", "de-03-umzug-nameserver")
def _():
    name = "de-03-umzug-nameserver"
    dt = at(-62, "+0100")
    body = T("""
        Hallo zusammen,

        wir möchten unsere Domain schroeder-tischlerei.test von unserem alten Anbieter zu Ihnen umziehen. Das Paket „Starter“ haben wir gestern bestellt (Auftragsnummer 2026-55120).

        Zwei Fragen dazu:
        1. Welche Nameserver müssen wir beim alten Anbieter eintragen?
        2. Gibt es während des Umzugs eine Unterbrechung beim E-Mail-Empfang? Über info@ kommen täglich Anfragen von Kunden, und wir möchten möglichst keine verlieren.

        Danke schon mal und viele Grüße
        Thomas Schröder
        Tischlerei Schröder
        """)
    return build([
        ("From", mailbox("Thomas Schröder", "thomas@schroeder-tischlerei.test", "utf-8")),
        ("Subject", "Frage zum Umzug: welche Nameserver?"),
        ("Message-Id", mid_uuid(name, "schroeder-tischlerei.test", upper=True)),
        ("Date", rfc_date(dt)),
        ("To", SUPPORT),
        ("X-Mailer", "Apple Mail (2.3826.300.87.4.3)"),
    ], text(body, "utf-8", "quoted-printable"))


@message("ham", "de-04-aw-datensicherung")
def _():
    name = "de-04-aw-datensicherung"
    dt = at(-19, "+0100")
    body = T("""
        Hallo Herr Berger,

        vielen Dank, die Wiederherstellung hat grundsätzlich geklappt, die Seiten sind wieder da.
        Allerdings fehlen noch die Bilder aus dem Ordner wp-content/uploads/2026/11 - auf der Seite "Team" werden nur leere Rahmen angezeigt.
        Könnten Sie diesen Ordner bitte auch noch aus der Sicherung vom 19.11. zurückspielen?

        Viele Grüße
        Petra Krämer

        Praxis Dr. Krämer
        Tel. 089 5550127

        -----Ursprüngliche Nachricht-----
        Von: Example Support <support@example.test>
        Gesendet: Freitag, 20. November 2026 15:42
        An: Petra Krämer <p.kraemer@praxis-kraemer.test>
        Betreff: [#51920] Wiederherstellung der Datensicherung

        Sehr geehrte Frau Krämer,

        wir haben die Datensicherung vom 19.11.2026 für praxis-kraemer.test wie gewünscht wiederhergestellt. Bitte prüfen Sie, ob alle Inhalte wieder vorhanden sind.

        Mit freundlichen Grüßen
        Markus Berger
        Example Support
        """)
    parent = "<ticket-51920-2.%s@example.test>" % digest(name, "p")[:10]
    return build([
        ("From", mailbox("Petra Krämer", "p.kraemer@praxis-kraemer.test", "iso-8859-1")),
        ("To", mailbox("'Example Support'", SUPPORT)),
        ("References", parent),
        ("In-Reply-To", parent),
        ("Subject", "AW: [#51920] Wiederherstellung der Datensicherung"),
        ("Date", rfc_date(dt)),
        ("Thread-Topic", "[#51920] Wiederherstellung der Datensicherung"),
        ("Thread-Index", "AQJ" + base64.b64encode(bytes.fromhex(digest(name, "ti")[:30])).decode()),
        ("Message-ID", mid_exchange_online(name)),
        ("Accept-Language", "de-DE, en-US"),
        ("Content-Language", "de-DE"),
    ], text(body, "iso-8859-1", "quoted-printable"))


# --- English ----------------------------------------------------------------------------------

@message("ham", "en-01-invoice-charged-twice")
def _():
    name = "en-01-invoice-charged-twice"
    dt = at(-136, "-0500")
    body = T("""
        Hi,

        I'm going through our November statement and it looks like we were charged
        twice for invoice INV-2026-0417. The invoice is for $119.40 (annual
        Business Email plan, 6 mailboxes), but our credit card ending in 4417
        shows two payments of $119.40 on November 3rd, so $238.80 in total.

        Could you please check this and refund the duplicate payment? If the
        second charge was for something else, please send me the invoice for it
        so our bookkeeper can match it.

        Also, a quick question: does the annual plan price include sales tax, or
        is that added at renewal? The invoice shows tax as $0.00 and I want to
        make sure we won't get a surprise bill next year.

        Thanks,
        Linda Harper
        Office Manager, Harper's Bakery
        (555) 014-2280
        """)
    return build([
        ("User-Agent", "Microsoft-MacOutlook/16.91.24111020"),
        ("Date", rfc_date(dt)),
        ("Subject", "Invoice INV-2026-0417 - charged twice?"),
        ("From", mailbox("Linda Harper", "linda.harper@harper-bakery.test")),
        ("To", mailbox("Example Support", SUPPORT)),
        ("Message-ID", mid_uuid(name, "harper-bakery.test", upper=True)),
        ("Thread-Topic", "Invoice INV-2026-0417 - charged twice?"),
    ], text(body, "UTF-8", "quoted-printable"))


@message("ham", "en-02-password-reset-link-expired")
def _():
    name = "en-02-password-reset-link-expired"
    dt = at(-81, "-0600")
    body = T("""
        Hello,

        I'm locked out of the control panel. I used the "Forgot password" link on the login page and got the reset email, but every time I click the link in it I get "This password reset link has expired or is invalid". I've tried three times in the last hour, each time clicking the newest email within a minute or two.

        My username is mbell and the account is for bellplumbing.test.

        Can you reset the password for me or tell me what I'm doing wrong? I need to get in today to add a mailbox for a new employee.

        Thanks,
        Marcus

        --
        Marcus Bell
        Bell Plumbing & Heating
        """)
    alt = multipart("alternative", [
        text(body, "UTF-8", "quoted-printable"),
        text(gmail_html(body), "UTF-8", "quoted-printable", "html"),
    ], b_gmail(name))
    return build([
        ("Date", rfc_date(dt)),
        ("Message-ID", mid_gmail(name)),
        ("Subject", "Can't reset my password - reset link says expired"),
        ("From", mailbox("Marcus Bell", "marcus.bell@bellplumbing.test")),
        ("To", SUPPORT),
    ], alt)


@message("ham", "en-03-newsletter-free-offer-complaint")
def _():
    name = "en-03-newsletter-free-offer-complaint"
    dt = at(-47, "+0000")
    body = T("""
        Hi,

        I have unsubscribed from your newsletter three times now (most recently on November 9th), and I am still getting it. Today's one arrived at 7am with the subject "FREE domain for a year - Black Friday offer ends Sunday!" and it says:

        > Black Friday deal: get a FREE .com domain and 50% off your first year
        > of hosting. Limited time offer - upgrade now and save $60!
        > Click here to claim your free gift before it's gone.

        I'm a paying customer and I do want your service emails (invoices, maintenance notices), but I do not want marketing offers. Please remove helen@carter-consulting.test from your marketing list and confirm once it's done.

        The unsubscribe link at the bottom of the newsletter just goes to a page that says "Thank you", so I assume it isn't working. You may want to look at that too.

        Regards,
        Helen Carter
        Carter Consulting
        """)
    return build([
        ("From", mailbox("Helen Carter", "helen@carter-consulting.test")),
        ("Subject", "Please stop sending me promotional emails"),
        ("Message-Id", mid_uuid(name, "carter-consulting.test", upper=True)),
        ("Date", rfc_date(dt)),
        ("To", mailbox("Example Support", SUPPORT)),
        ("X-Mailer", "Apple Mail (2.3826.300.87.4.3)"),
    ], text(body, "us-ascii", "quoted-printable"))


@message("ham", "en-04-all-caps-angry")
def _():
    name = "en-04-all-caps-angry"
    dt = at(-27, "-0500")
    body = T("""
        WHAT IS GOING ON WITH YOUR SERVERS?? MY ONLINE STORE MITCHELLAUTOPARTS.TEST
        HAS BEEN DOWN SINCE 6 AM THIS MORNING. CUSTOMERS ARE CALLING ME BECAUSE THEY
        CANNOT PLACE ORDERS.

        THIS IS THE THIRD TIME THIS MONTH. LAST TIME YOUR TECH SAID IT WAS "A ONE
        OFF PROBLEM WITH THE DATABASE SERVER". IT IS NOT A ONE OFF IF IT KEEPS
        HAPPENING.

        I PAY YOU $39.99 A MONTH FOR THE "PREMIUM" PLAN AND I AM LOSING HUNDREDS OF
        DOLLARS EVERY HOUR THE STORE IS OFFLINE. I WANT IT FIXED TODAY AND I WANT A
        CREDIT FOR THIS MONTH.

        IF THIS HAPPENS AGAIN I AM MOVING ALL MY SITES TO ANOTHER COMPANY.

        CALL ME AT (555) 014-7731 AS SOON AS YOU READ THIS.

        GARY MITCHELL
        MITCHELL AUTO PARTS
        ACCOUNT 60218
        """)
    return build([
        ("From", mailbox("Gary Mitchell", "gary@mitchellautoparts.test")),
        ("To", SUPPORT),
        ("Subject", "WEBSITE DOWN AGAIN!!! THIRD TIME THIS MONTH"),
        ("Date", rfc_date(dt)),
        ("Message-ID", mid_exchange_online(name, "NAM")),
        ("Accept-Language", "en-US"),
        ("Content-Language", "en-US"),
        ("Thread-Topic", "WEBSITE DOWN AGAIN!!! THIRD TIME THIS MONTH"),
        ("Thread-Index", "AdteA" + base64.b64encode(bytes.fromhex(digest(name, "ti")[:30])).decode()),
    ], text(body, "us-ascii", "7bit"))


@message("ham", "en-05-re-server-migration")
def _():
    name = "en-05-re-server-migration"
    dt = at(-5, "+0000")
    body = T("""
        Hi Tom,

        Saturday night works for us. The shop is quietest between midnight and
        6 am, so anything in that window is fine. I'll put the "maintenance"
        banner up on Friday evening so customers know.

        One question: will the order emails (the ones the shop sends to
        customers) keep working during the move, or should we pause the shop
        completely?

        Thanks,
        Priya

        On 20/11/2026 16:40, Example Support wrote:
        > Hi Priya,
        >
        > we are moving all shops on the old web3 server to new hardware next
        > week. The move itself takes about 30 minutes for a shop of your size
        > and the site will be read-only while it runs.
        >
        > Would Saturday night (28 November) between 00:00 and 04:00 suit you?
        >
        > Best regards,
        > Tom Reed
        > Example Support
        """)
    parent = "<ticket-52077-1.%s@example.test>" % digest(name, "p")[:10]
    return build([
        ("Message-ID", mid_uuid(name, "natarajan-studio.test")),
        ("Date", rfc_date(dt)),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Subject", "Re: [#52077] Migration of your shop to the new server"),
        ("Content-Language", "en-GB"),
        ("To", mailbox("Example Support", SUPPORT)),
        ("References", parent),
        ("From", mailbox("Priya Natarajan", "priya@natarajan-studio.test")),
        ("In-Reply-To", parent),
    ], text(body, "UTF-8", "7bit", params="; format=flowed"))


# ============================================================================================
# Spam
# ============================================================================================

@message("spam", "en-01-419-barrister-next-of-kin")
def _():
    name = "en-01-419-barrister-next-of-kin"
    body = T("""
        Dear Friend,

        I am Barrister James Okafor, a solicitor at law and the personal attorney
        to the late Engr. Richard Moore, a foreign contractor who worked with an
        oil servicing company here in Nigeria. On the 21st of April 2021 my client,
        his wife and their only daughter were involved in a car accident along
        Sagamu Express Road. All occupants of the vehicle unfortunately lost their
        lives.

        Since then I have made several enquiries to locate any of my late client's
        extended relatives, but this has proved unsuccessful. After these several
        unsuccessful attempts, I decided to contact you through this medium.

        The bank where my late client deposited the sum of US$10,500,000.00 (Ten
        Million Five Hundred Thousand United States Dollars) has issued me a notice
        to provide the next of kin or have the account confiscated within the next
        ten official working days.

        I am seeking your consent to present you as the next of kin of the
        deceased, so that the proceeds of this account can be paid to you. The
        money will be shared 50% for me and 40% for you, while 10% will be used to
        settle any expenses incurred during the transaction. All legal documents
        to back up your claim will be provided by me. This transaction is 100%
        risk free and legal.

        Please reply urgently with the following information:
        1. Your full names
        2. Your private telephone number
        3. Your contact address
        4. Your occupation and age

        Kindly treat this as strictly confidential.

        Best regards,
        Barr. James Okafor (Esq.)
        Okafor & Associates Chambers
        Lagos, Nigeria
        """)
    return build([
        ("Date", rfc_date(at(-133, "+0100"))),
        ("From", mailbox("Barr. James Okafor", "barr.jamesokafor01@yahoo.com")),
        ("Reply-To", "jamesokafor.chambers@gmail.com"),
        ("To", SUPPORT),
        ("Subject", "ATTENTION: BENEFICIARY OF US$10.5 MILLION"),
        ("Message-ID", "<%d.%d.%d@mail.yahoo.com>" % (
            int(BASE.timestamp()) - 7980, int(digest(name)[:6], 16),
            int(BASE.timestamp() * 1000) - 7979123)),
        ("X-Mailer", "WebService/1.1.22645 YMailNorrin"),
    ], text(body, "us-ascii", "7bit"))


@message("spam", "en-02-lottery-winner")
def _():
    name = "en-02-lottery-winner"
    body = T("""
        INTERNATIONAL EMAIL LOTTERY PROGRAM
        Ref No: ILP/2026/11/4417    Batch No: 24/0037/IPD

        Dear Lucky Winner,

        We are pleased to inform you of the result of the 2026 International Email
        Lottery Program held on 20th November 2026. Your email address attached to
        ticket number 564-756-00545-188 with serial number 5368/02 drew the lucky
        numbers 05-11-27-31-38-44, which consequently won in the 2nd category.

        You have therefore been approved for a lump sum payment of GBP 850,000.00
        (Eight Hundred and Fifty Thousand British Pounds Sterling) in cash credited
        to file KTU/9023118308/03.

        All participants were selected through a computer ballot system drawn from
        over 20,000,000 email addresses from all continents as part of our
        international promotions program.

        To begin your claim, please contact our claims agent:

        Mr. Peter Williams
        Email: claimsagent.peterwilliams@outlook.com

        and provide: full name, address, nationality, age, occupation, telephone
        number, amount won and reference number.

        NOTE: To avoid unnecessary delays and complications, please keep your
        winning information confidential until your claim has been processed.
        This is part of our security protocol to avoid double claiming.

        Congratulations once again!

        Mrs. Catherine Hughes
        Lottery Coordinator
        """)
    return build([
        ("From", mailbox("International Lottery Promotions", "award.notification@lotto-intl.top")),
        ("Reply-To", mailbox("Mr. Peter Williams", "claimsagent.peterwilliams@outlook.com")),
        ("To", SUPPORT),
        ("Subject", "CONGRATULATIONS!!! YOUR EMAIL HAS WON GBP 850,000.00"),
        ("Message-ID", mid_spamware(name, "lotto-intl.top")),
        # no Date: header
    ], text(body, "iso-8859-1", "7bit"))


@message("spam", "en-03-pharmacy-html-only")
def _():
    name = "en-03-pharmacy-html-only"
    page = T("""
        <html><head><title>Canadian Health&amp;Care Mall</title></head>
        <body bgcolor="#ffffff">
        <center>
        <table width="560" border="0" cellpadding="6" style="font-family:Arial,sans-serif">
        <tr><td align="center" bgcolor="#1f6fb2"><font color="#ffffff" size="5"><b>CANADIAN HEALTH&amp;CARE MALL</b></font><br>
        <font color="#ffffff" size="2">Your trusted online pharmacy since 2004</font></td></tr>
        <tr><td><font size="4" color="#cc0000"><b>MEN'S HEALTH SALE - UP TO 80% OFF!</b></font></td></tr>
        <tr><td>
        <table width="100%" border="1" cellspacing="0" cellpadding="4">
        <tr><td>V!AGRA 100mg</td><td>60 pills</td><td><b>$0.89</b> per pill</td></tr>
        <tr><td>C1AL1S 20mg</td><td>60 pills</td><td><b>$1.15</b> per pill</td></tr>
        <tr><td>LEV1TRA 20mg</td><td>30 pills</td><td><b>$1.60</b> per pill</td></tr>
        <tr><td>V!agra Soft Tabs</td><td>90 pills</td><td><b>$0.99</b> per pill</td></tr>
        </table>
        </td></tr>
        <tr><td>* No prescription required<br>* Discreet packaging<br>* Worldwide shipping in 4-10 days<br>
        * 100% satisfaction guaranteed or your money back</td></tr>
        <tr><td align="center"><a href="http://rxbestprice.icu/?aff=8812&amp;u=s1"><font size="5"><b>&gt;&gt; ORDER NOW AND SAVE &lt;&lt;</b></font></a></td></tr>
        <tr><td><font size="1" color="#ffffff">orchard lantern velvet cobble misty harbor twelve quietly ribbon
        almanac sparrow dune</font></td></tr>
        <tr><td align="center"><font size="1" color="#999999">To stop receiving these messages
        <a href="http://rxbestprice.icu/unsub.php?e=s1">click here</a>.</font></td></tr>
        </table>
        </center>
        </body></html>
        """)
    dt = at(-121, "-0700")
    return build([
        ("Message-ID", "<%s.%s@rxbestprice.icu>" % (dt.strftime("%Y%m%d%H%M%S"), digest(name)[:8])),
        ("From", mailbox("Canadian Health&Care", "orders@rxbestprice.icu")),
        ("To", SUPPORT),
        ("Subject", "Re: your order - V1agra from $0.89/pill"),
        ("Date", rfc_date(dt)),
        ("X-Priority", "3"),
        ("X-Mailer", "Microsoft Outlook Express 6.00.2900.2180"),
    ], text(page, "utf-8", "base64", "html"))


@message("spam", "en-04-phish-m365-password-expiry")
def _():
    name = "en-04-phish-m365-password-expiry"
    page = T("""
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"></head>
        <body style="margin:0;padding:0;font-family:'Segoe UI',Tahoma,Arial,sans-serif;background:#f3f2f1">
        <table align="center" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff">
        <tr><td style="padding:20px 30px;border-bottom:4px solid #0078d4">
        <img src="http://203.0.113.45/owa/img/ms-logo.png" width="108" height="23" alt="Microsoft"></td></tr>
        <tr><td style="padding:30px">
        <p style="font-size:22px;color:#0078d4;margin:0 0 18px">Password Expiry Notice</p>
        <p style="font-size:14px;color:#333">The password for your Microsoft 365 account
        <b>support@example.test</b> expires today, <b>November 23, 2026</b>.</p>
        <p style="font-size:14px;color:#333">To avoid losing access to your mailbox, OneDrive and Teams,
        you can keep using your current password by confirming it below.</p>
        <p style="margin:28px 0"><a href="http://203.0.113.45/owa/auth/keep.php?email=support@example.test"
        style="background:#0078d4;color:#ffffff;padding:12px 26px;text-decoration:none;font-size:15px">Keep Current Password</a></p>
        <p style="font-size:12px;color:#666">If you do not take action, your account will be signed out of
        all devices and incoming messages will be held for 72 hours.</p>
        </td></tr>
        <tr><td style="padding:18px 30px;font-size:11px;color:#999;background:#faf9f8">
        This message was sent from an unmonitored email address. Please do not reply.<br>
        Microsoft respects your privacy. Microsoft Corporation, One Microsoft Way, Redmond, WA 98052</td></tr>
        </table>
        </body></html>
        """)
    return build([
        ("Date", rfc_date(at(-64, "+0000"))),
        ("To", SUPPORT),
        ("From", mailbox("Microsoft 365 Admin Center", "no-reply@m365-notice.top")),
        ("Subject", "Action Required: Password for support@example.test expires today"),
        ("Message-ID", "<%s@m365-notice.top>" % digest(name)[:32]),
        ("X-Mailer", "PHPMailer 6.1.4 (https://github.com/PHPMailer/PHPMailer)"),
    ], text(page, "UTF-8", "quoted-printable", "html"))


@message("spam", "en-05-phish-bank-verify-account")
def _():
    name = "en-05-phish-bank-verify-account"
    plain = T("""
        Dear Valued Customer,

        We have detected unusual sign-in activity on your Online Banking account. For
        your protection, we have temporarily limited access to your account.

        To restore full access, please verify your account information within 48 hours:
        https://www.commonwealthfederal.test/login

        Failure to verify will result in permanent suspension of your account.

        Reference: CFB-77120-SEC

        Thank you for banking with us.
        Commonwealth Federal Bank - Security Department
        """)
    page = T("""
        <html><body style="font-family:Verdana,Arial;font-size:13px">
        <div style="background:#00264d;padding:14px"><font color="#ffffff" size="4"><b>Commonwealth Federal Bank</b></font></div>
        <p>Dear Valued Customer,</p>
        <p>We have detected <b>unusual sign-in activity</b> on your Online Banking account. For your
        protection, we have temporarily limited access to your account.</p>
        <p>To restore full access, please verify your account information within <b>48 hours</b>:</p>
        <p><a href="http://cfbank-secure-verify.xyz/online/login.php?ref=CFB77120">https://www.commonwealthfederal.test/login</a></p>
        <p><font color="#cc0000">Failure to verify will result in permanent suspension of your account.</font></p>
        <p>Reference: CFB-77120-SEC</p>
        <p>Thank you for banking with us.<br>Commonwealth Federal Bank - Security Department</p>
        <p style="font-size:10px;color:#888">&copy; 2026 Commonwealth Federal Bank. Member FDIC. Equal Housing Lender.</p>
        </body></html>
        """)
    alt = multipart("alternative", [
        text(plain, "us-ascii", "7bit"),
        text(page, "us-ascii", "7bit", "html"),
    ], b_generic(name))
    return build([
        ("From", mailbox("Commonwealth Federal Bank", "security@cfbank-alerts.xyz")),
        ("To", SUPPORT),
        ("Subject", "Your online banking access has been limited - verify your account"),
        ("Date", rfc_date(at(-57, "-0400"))),
        ("Message-ID", "<%s@cfbank-alerts.xyz>" % uuid_like(name)),
    ], alt)


@message("spam", "en-06-crypto-ai-trading")
def _():
    name = "en-06-crypto-ai-trading"
    plain = T("""
        Hi,

        My name is Daniel. Six months ago I was working 50 hours a week and still
        struggling to pay my bills. Today I make an average of $1,100 per day from
        home with QuantumTrade AI - and I only spend 20 minutes a day on it.

        QuantumTrade AI is an automated Bitcoin trading platform that uses
        artificial intelligence to buy low and sell high, 24 hours a day. Our
        members turned $250 into $8,400 in their first 30 days.

        * Minimum deposit: only $250
        * Withdraw your profits any time
        * No experience needed

        Because of high demand we only accept 12 new members this month.

        Claim your spot now: http://quantumtrade-ai.click/r/?id=5512

        To your success,
        Daniel Hoffman
        QuantumTrade AI
        """)
    page = T("""
        <html><body style="font-family:Arial,sans-serif;font-size:15px;color:#222">
        <p>Hi,</p>
        <p>My name is Daniel. Six months ago I was working 50 hours a week and still struggling to pay my bills.
        Today I make an average of <b>$1,100 per day</b> from home with <b>QuantumTrade AI</b> - and I only spend
        20 minutes a day on it.</p>
        <p><img src="http://quantumtrade-ai.click/img/proof-balance.jpg" width="480" height="260" alt="My account balance"></p>
        <p>QuantumTrade AI is an automated Bitcoin trading platform that uses artificial intelligence to buy low and
        sell high, 24 hours a day. Our members turned <b>$250 into $8,400</b> in their first 30 days.</p>
        <ul><li>Minimum deposit: only $250</li><li>Withdraw your profits any time</li><li>No experience needed</li></ul>
        <p><font color="#d00000"><b>Because of high demand we only accept 12 new members this month.</b></font></p>
        <p style="text-align:center"><a href="http://quantumtrade-ai.click/r/?id=5512" style="background:#16a34a;color:#fff;padding:14px 30px;font-size:18px;text-decoration:none">CLAIM MY SPOT NOW</a></p>
        <p>To your success,<br>Daniel Hoffman<br>QuantumTrade AI</p>
        <p style="font-size:10px;color:#999">Trading involves risk. Past results are not a guarantee of future profits.
        <a href="http://quantumtrade-ai.click/unsubscribe">Unsubscribe</a></p>
        </body></html>
        """)
    alt = multipart("alternative", [
        text(plain, "UTF-8", "base64"),
        text(page, "UTF-8", "base64", "html"),
    ], b_generic(name, "_=ALT_"))
    return build([
        ("From", mailbox("Daniel Hoffman", "daniel@quantumtrade-ai.click")),
        ("Reply-To", "daniel.hoffman.trading@gmail.com"),
        ("To", SUPPORT),
        ("Subject", "Turn $250 into $8,400 in 30 days with AI trading (proof inside)"),
        ("Date", rfc_date(at(-112, "+0300"))),
        ("Message-ID", mid_spamware(name, "quantumtrade-ai.click")),
    ], alt)


@message("spam", "en-07-seo-cold-offer")
def _():
    name = "en-07-seo-cold-offer"
    body = T("""
        Hi Team,

        Hope you are doing well.

        I was going through your website example.test and noticed that it is not
        ranking on the first page of Google for many important keywords related to
        your business. I also found some technical errors which are stopping your
        website from getting more traffic:

        - Low domain authority and backlinks
        - Website is not mobile friendly on some pages
        - Slow page loading speed
        - No proper on-page optimization (meta tags, headings, alt tags)

        We are a team of 40+ digital marketing experts and we can place your
        website on Google's 1st page with our affordable SEO packages. We have a
        proven track record of 500+ satisfied clients in USA, UK, Canada and
        Australia.

        If you are interested, please reply with your phone number and a good time
        to call, and I will send you a free website audit report and our pricing.

        Thanks & Regards,
        Sophia Williams
        Business Development Manager

        P.S. If you don't want to receive any further emails from us, please reply
        with "REMOVE" in the subject line.
        """)
    alt = multipart("alternative", [
        text(body, "UTF-8", "7bit"),
        text(gmail_html(body), "UTF-8", "quoted-printable", "html"),
    ], b_gmail(name))
    return build([
        ("Date", rfc_date(at(-98, "+0530"))),
        ("Message-ID", mid_gmail(name)),
        ("Subject", "Re: Website Ranking Proposal for example.test"),
        ("From", mailbox("Sophia Williams", "sophia.seoexpert21@gmail.com")),
        ("To", SUPPORT),
    ], alt)


@message("spam", "en-08-webdesign-fake-reply")
def _():
    name = "en-08-webdesign-fake-reply"
    body = T("""
        Hello,

        I am Emma, a freelance web designer and developer. I came across your
        website and I think it could use a modern, mobile friendly redesign to get
        more leads and sales.

        I can redesign your website on WordPress, Shopify or custom HTML with:
        * Modern responsive design
        * Speed optimization
        * Basic SEO setup
        * 1 year free maintenance

        Prices start from only $399 for a 5 page website. Delivery in 7 days.

        Can I send you some samples of my recent work and a price quote?

        Kind regards,
        Emma Clarke
        Web Designer
        """)
    return build([
        ("From", mailbox("Emma Clarke", "emma.webdesignstudio@outlook.com")),
        ("Reply-To", "emmaclarke.designs24@gmail.com"),
        ("To", SUPPORT),
        ("Subject", "Re: Website redesign quote"),
        ("Date", rfc_date(at(-86, "+0000"))),
        ("Message-ID", mid_exchange_online(name, "NAM")),
    ], text(body, "us-ascii", "7bit"))


@message("spam", "en-09-fake-invoice-overdue")
def _():
    name = "en-09-fake-invoice-overdue"
    dt = at(-75, "-0500")
    plain = T("""
        Good morning,

        Please find below the details of invoice INV-009823, which is now 30 days
        overdue.

            Amount due:  $4,870.00
            Due date:    23 October 2026
            Status:      OVERDUE - FINAL NOTICE

        We have tried to contact you several times regarding this payment. If the
        full amount is not received within 24 hours, your account will be passed
        to our collections department and late fees and legal costs will be added.

        View and pay the invoice securely here:
        http://198.51.100.23/docs/INV-009823.html

        If you have already paid, please send us the remittance advice by replying
        to this email.

        Regards,
        Jenna Ross
        Accounts Receivable
        """)
    page = T("""
        <html><head><meta http-equiv="Content-Type" content="text/html; charset=us-ascii"></head>
        <body><div style="font-family:Calibri,Arial;font-size:11pt">
        <p>Good morning,</p>
        <p>Please find below the details of invoice <b>INV-009823</b>, which is now 30 days overdue.</p>
        <table border="1" cellspacing="0" cellpadding="5">
        <tr><td>Amount due</td><td><b>$4,870.00</b></td></tr>
        <tr><td>Due date</td><td>23 October 2026</td></tr>
        <tr><td>Status</td><td><font color="red"><b>OVERDUE - FINAL NOTICE</b></font></td></tr>
        </table>
        <p>We have tried to contact you several times regarding this payment. If the full amount is not received
        within <b>24 hours</b>, your account will be passed to our collections department and late fees and legal
        costs will be added.</p>
        <p><a href="http://198.51.100.23/docs/INV-009823.html">View and pay invoice INV-009823</a></p>
        <p>If you have already paid, please send us the remittance advice by replying to this email.</p>
        <p>Regards,<br>Jenna Ross<br>Accounts Receivable</p>
        </div></body></html>
        """)
    alt = multipart("alternative", [
        text(plain, "us-ascii", "quoted-printable"),
        text(page, "us-ascii", "quoted-printable", "html"),
    ], b_outlook(name), preamble="This is a multi-part message in MIME format.")
    # An Outlook-shaped Message-ID whose embedded timestamp is years away from Date:.
    stale = datetime.datetime(2019, 3, 14, 9, 26, tzinfo=datetime.timezone.utc)
    return build([
        ("From", mailbox("Accounts Receivable", "jenna.ross@finance-dept-mail.work")),
        ("To", SUPPORT),
        ("Subject", "URGENT: Invoice #INV-009823 overdue - final notice"),
        ("Date", rfc_date(dt)),
        ("Message-ID", mid_outlook_express(name, stale, "finance-dept-mail.work")),
        ("X-Mailer", "Microsoft Office Outlook 12.0"),
        ("Thread-Index", "Ac" + base64.b64encode(bytes.fromhex(digest(name, "ti")[:30])).decode()),
        ("Importance", "High"),
        ("X-Priority", "1"),
    ], alt)


@message("spam", "en-10-dating-lonely-woman")
def _():
    name = "en-10-dating-lonely-woman"
    body = T("""
        Hello my dear friend!

        My name is Anastasia, I am 29 years old and I live in Russia, in small
        city near Kazan. I found your email address in internet on dating site
        and I decided to write to you. I hope you are not against?

        I am kind, honest and romantic woman. I work as nurse in children hospital.
        I never was married and I have no children. I want to find serious man for
        relationship and family, age and nationality is not important for me, the
        main thing is kind heart.

        If you are interested to know me more, please write me to my personal
        email nastya.love1995@yandex.ru and I will send you my photos and tell
        more about me.

        I will wait for your answer with impatience!
        Anastasia
        """)
    return build([
        ("From", mailbox("Anastasia", "anastasia.sweetheart95@mail.ru")),
        ("Reply-To", "nastya.love1995@yandex.ru"),
        ("To", SUPPORT),
        ("Subject", "Hi dear, I am waiting for your letter"),
        ("Message-ID", "<%s@smtp%d.mail.ru>" % (digest(name)[:20].upper(), int(digest(name, "n")[:2], 16) % 40)),
        # no Date: header
    ], text(body, "windows-1251", "8bit"))


@message("spam", "en-11-replica-watches")
def _():
    name = "en-11-replica-watches"
    page = T("""
        <html><body bgcolor="#000000" text="#ffffff">
        <center><font face="Georgia" size="6" color="#d4af37">LUXURY REPLICA OUTLET</font><br>
        <font face="Arial" size="3">Swiss-made quality at 90% OFF retail prices</font><br><br>
        <a href="http://lux-replica-outlet.shop/?c=nov"><img src="http://lux-replica-outlet.shop/img/banner-nov.jpg" width="560" height="300" border="0"></a><br><br>
        <table width="560" cellpadding="5" style="font-family:Arial;font-size:14px;color:#ffffff">
        <tr><td>R0LEX Submariner Date</td><td><s>$9,550</s></td><td><font color="#d4af37"><b>$219</b></font></td></tr>
        <tr><td>OMEGA Seamaster 300M</td><td><s>$5,900</s></td><td><font color="#d4af37"><b>$189</b></font></td></tr>
        <tr><td>Patek Philippe Nautilus</td><td><s>$34,890</s></td><td><font color="#d4af37"><b>$299</b></font></td></tr>
        <tr><td>Breitling Navitimer</td><td><s>$8,700</s></td><td><font color="#d4af37"><b>$199</b></font></td></tr>
        </table><br>
        <font face="Arial" size="2">* Sapphire crystal * Automatic movement * Same weight as the original *<br>
        FREE worldwide shipping on orders over $300 - no one will ever know the difference!</font><br><br>
        <a href="http://lux-replica-outlet.shop/?c=nov"><font face="Arial" size="5" color="#d4af37"><b>SHOP NOW &gt;&gt;</b></font></a><br><br>
        <font size="1" color="#666666">You are receiving this because you subscribed to our mailing list.
        <a href="http://lux-replica-outlet.shop/remove">Remove me</a></font>
        </center></body></html>
        """)
    return build([
        ("From", mailbox("Luxury Replica Outlet", "sales@lux-replica-outlet.shop")),
        ("To", SUPPORT),
        ("Subject", "Rolex, Omega, Patek Philippe - Swiss replicas 90% OFF"),
        # A sender clock (or time zone) that is wrong by several hours: Date is in the future.
        ("Date", rfc_date(at(7 * 60 + 12, "+0800"))),
        ("Message-ID", mid_spamware(name, "lux-replica-outlet.shop")),
    ], text(page, "iso-8859-1", "quoted-printable", "html"))


@message("spam", "en-12-loan-offer")
def _():
    name = "en-12-loan-offer"
    body = T("""
        Attention: Sir/Madam,

        Are you in need of a loan? Do you need money to pay off your bills, start a
        new business or expand your business? We offer guaranteed loans to
        individuals and companies at a low interest rate of 2% per annum.

        Loan amount: from $5,000.00 to $50,000,000.00
        Duration: 1 to 30 years
        Bad credit accepted, no collateral required.

        If interested, kindly contact us with the following information:

        Full Name:
        Country:
        Loan Amount Needed:
        Loan Duration:
        Monthly Income:
        Phone Number:

        Contact us via email: robertharris.loanfirm@gmail.com

        Mr. Robert Harris
        Harris Finance Ltd.
        """)
    return build([
        ("From", mailbox("Robert Harris Finance", "harrisfinance.loans@hotmail.com")),
        ("Reply-To", "robertharris.loanfirm@gmail.com"),
        ("To", SUPPORT),
        ("Subject", "LOAN OFFER AT 2% INTEREST RATE !!!"),
        ("Date", rfc_date(at(-40, "+0000"))),
        ("Message-ID", mid_exchange_online(name, "EUR")),
    ], text(body, "iso-8859-1", "quoted-printable"))


@message("spam", "en-13-pending-package-fee")
def _():
    page = T("""
        <html><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#333">
        <table width="600" align="center" cellpadding="12" style="border:1px solid #ddd">
        <tr><td style="background:#ffcc00"><b style="font-size:20px">Delivery Notification</b></td></tr>
        <tr><td>
        <p>Dear Customer,</p>
        <p>We tried to deliver your package today, but the delivery could not be completed because the
        shipping address is incomplete. Your package is now on hold at our local depot.</p>
        <p><b>Tracking number:</b> US9514901185421<br><b>Status:</b> <font color="#cc0000">Pending - action required</font></p>
        <p>To schedule a new delivery, please confirm your address and pay the redelivery fee of <b>$1.99</b>.</p>
        <p align="center"><a href="http://parcel-redelivery.top/track?id=US9514901185421" style="background:#d40511;color:#fff;padding:12px 28px;text-decoration:none"><b>Schedule Delivery</b></a></p>
        <p>If the address is not confirmed within <b>48 hours</b>, the package will be returned to the sender.</p>
        <p>Thank you for choosing our services.</p>
        </td></tr>
        <tr><td style="font-size:11px;color:#999">This is an automated message, please do not reply.</td></tr>
        </table></body></html>
        """)
    return build([
        ("From", mailbox("Parcel Delivery Service", "noreply@parcel-tracking-notice.top")),
        ("To", SUPPORT),
        ("Subject", "Your package is on hold - action required (ID: US9514901185421)"),
        ("Date", rfc_date(at(-33, "+0000"))),
        # no Message-ID: header
    ], text(page, "UTF-8", "base64", "html"))


@message("spam", "en-14-phish-mailbox-quota")
def _():
    name = "en-14-phish-mailbox-quota"
    page = T("""
        <html><body style="font-family:Tahoma,Arial;font-size:13px">
        <p><b>example.test Mail Administration</b></p>
        <p>Dear support,</p>
        <p>Your mailbox <b>support@example.test</b> has reached <b>98%</b> of its storage limit
        (1.96 GB of 2 GB). Once the limit is reached you will no longer be able to send or receive new
        messages, and incoming emails will be returned to the senders.</p>
        <table width="300" cellpadding="0" cellspacing="0" style="border:1px solid #999"><tr>
        <td width="294" style="background:#d9534f;font-size:10px;color:#fff">&nbsp;98%</td><td width="6">&nbsp;</td></tr></table>
        <p>To increase your storage quota for free, please login below and validate your account:</p>
        <p><a href="http://198.51.100.77/webmail/upgrade/?user=support@example.test">Increase Mailbox Storage</a></p>
        <p>Thank you,<br>example.test Email Administrator</p>
        <p style="font-size:10px;color:#888">This email was sent automatically by the mail server. Do not reply.</p>
        </body></html>
        """)
    return build([
        ("From", mailbox("example.test Mail Administrator", "postmaster@example.test")),
        ("To", SUPPORT),
        ("Subject", "Mailbox storage almost full: support@example.test (98%)"),
        ("Date", rfc_date(at(-21, "-0800"))),
        ("Message-ID", "<%s$%s@example.test>" % (digest(name)[:16], digest(name, "x")[:6])),
        ("X-Mailer", "Microsoft Outlook 16.0"),
    ], text(page, "UTF-8", "base64", "html"))


@message("spam", "en-15-sextortion-bitcoin")
def _():
    name = "en-15-sextortion-bitcoin"
    body = T("""
        Hello!

        I am a hacker who has gained access to your operating system. I also have
        full access to your account support@example.test. As you can see, I sent
        you this email from your own account.

        I have been watching you for a few months now. Your computer was infected
        with malware through a website you visited. Through it I got access to all
        your contacts, your email correspondence and your camera.

        I have made a video of you and a copy of your browsing history. With one
        click I can send this video to all your contacts, colleagues and relatives.

        If you want to avoid this, transfer $1450 in Bitcoin to my wallet:
        bc1q9x7hd3kzl4v8m2w0e6r5t7yp3qj8n4c2f0s6ud

        After receiving the payment I will delete the video and you will never hear
        from me again. You have 48 hours. I receive a notification as soon as you
        open this letter, the timer has started.

        Do not try to reply, this address is spoofed. Do not go to the police, I
        will know.
        """)
    return build([
        ("From", SUPPORT),
        ("To", SUPPORT),
        ("Subject", "support: your account has been hacked! change your password now"),
        ("Date", rfc_date(at(-16, "+0300"))),
        ("Message-ID", "<%s@example.test>" % digest(name)[:24].upper()),
        ("X-Mailer", "Microsoft Outlook Express 6.00.2800.1106"),
    ], text(body, "us-ascii", "7bit"))


# --- German spam ------------------------------------------------------------------------------

@message("spam", "de-01-phish-bank-psd2")
def _():
    name = "de-01-phish-bank-psd2"
    page = T("""
        <html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head>
        <body style="font-family:Arial,sans-serif;font-size:14px;color:#222">
        <table width="600" align="center" cellpadding="14" style="border:1px solid #ccc">
        <tr><td style="background:#003d7a"><font color="#ffffff" size="5"><b>Nordbank Direkt</b></font></td></tr>
        <tr><td>
        <p>Sehr geehrte Kundin, sehr geehrter Kunde,</p>
        <p>im Rahmen der neuen EU-Zahlungsdiensterichtlinie (PSD2) sind wir verpflichtet, die Kundendaten aller
        Online-Banking-Nutzer regelmäßig zu überprüfen.</p>
        <p>Leider konnten wir Ihre Daten bei der letzten Überprüfung nicht bestätigen. Aus Sicherheitsgründen wurde
        der Zugang zu Ihrem Online-Banking daher <b>vorübergehend eingeschränkt</b>.</p>
        <p>Bitte bestätigen Sie Ihre Daten bis spätestens <b>30.11.2026</b> über den folgenden Link. Andernfalls wird
        Ihr Konto gesperrt und eine Reaktivierung ist nur noch in der Filiale gegen eine Gebühr von 19,90 EUR möglich.</p>
        <p align="center"><a href="http://nordbank-direkt.sicherheit-login.top/psd2/" style="background:#e30613;color:#fff;padding:12px 26px;text-decoration:none"><b>Jetzt Daten bestätigen</b></a></p>
        <p>Mit freundlichen Grüßen<br>Ihr Nordbank Direkt Kundenservice</p>
        </td></tr></table>
        </body></html>
        """)
    dt = at(-147, "+0100")
    return build([
        ("From", mailbox("Nordbank Direkt", "service@nordbank-direkt-sicherheit.top")),
        ("To", SUPPORT),
        ("Subject", subject("Wichtig: Ihr Online-Banking wurde vorübergehend eingeschränkt",
                            "iso-8859-1")),
        ("Date", rfc_date(dt)),
        ("Message-ID", "<%s@nordbank-direkt-sicherheit.top>" % digest(name)[:20]),
        ("X-Mailer", "Microsoft Outlook Express 6.00.2900.5512"),
        ("X-MimeOLE", "Produced By Microsoft MimeOLE V6.00.2900.5512"),
    ], text(page, "iso-8859-1", "quoted-printable", "html"))


@message("spam", "de-02-paket-zollgebuehr")
def _():
    name = "de-02-paket-zollgebuehr"
    page = T("""
        <html><body style="font-family:Arial,sans-serif;font-size:14px">
        <div style="background:#ffcc00;padding:12px;font-size:20px"><b>Paket-Benachrichtigung</b></div>
        <p>Sehr geehrter Kunde,</p>
        <p>Ihre Sendung mit der Nummer <b>00340434161094042557</b> befindet sich in unserem Verteilzentrum.
        Die Zustellung ist derzeit nicht möglich, da eine Zollgebühr von <b>2,99 €</b> noch nicht bezahlt wurde.</p>
        <p>Bitte begleichen Sie die ausstehende Gebühr innerhalb von <b>72 Stunden</b>, damit Ihr Paket zugestellt
        werden kann. Nach Ablauf der Frist wird die Sendung an den Absender zurückgeschickt.</p>
        <p><a href="http://paket-zustellung-de.xyz/sendung/00340434161094042557" style="background:#d40511;color:#fff;padding:10px 24px;text-decoration:none">Gebühr jetzt bezahlen</a></p>
        <p>Vielen Dank für Ihr Verständnis.<br>Ihr Paket-Kundenservice</p>
        </body></html>
        """)
    return build([
        ("From", mailbox("Paket Zustellung", "info@paket-zustellung-de.xyz")),
        ("To", SUPPORT),
        ("Subject", subject("Ihre Sendung wartet: Zollgebühr von 2,99 € ausstehend", "UTF-8", "B")),
        ("Message-ID", mid_spamware(name, "paket-zustellung-de.xyz")),
        # no Date: header
    ], text(page, "UTF-8", "base64", "html"))


@message("spam", "de-03-krypto-fake-news")
def _():
    name = "de-03-krypto-fake-news"
    plain = T("""
        Liebe Leserin, lieber Leser,

        was die Banken Ihnen nicht erzählen: Immer mehr Deutsche verdienen mit einer
        neuen, KI-gestützten Handelsplattform jeden Monat ein zweites Einkommen -
        ganz bequem von zu Hause aus.

        Auch Markus K. (52) aus Dortmund war skeptisch. Heute sagt er: „Ich habe mit
        250 € angefangen und nach drei Wochen bereits 11.380 € auf meinem Konto
        gehabt.“

        So funktioniert es:
        1. Kostenlos registrieren
        2. Mindesteinlage von 250 € einzahlen
        3. Der Handelsroboter erledigt den Rest - 24 Stunden am Tag

        Wegen der hohen Nachfrage sind nur noch wenige Plätze für Deutschland frei.

        Jetzt kostenlos registrieren:
        http://bitcoin-profit-de.click/anmeldung?ref=nl2611

        Viel Erfolg!
        Ihre Finanz-Insider-Redaktion
        """)
    page = T("""
        <html><body style="font-family:Georgia,serif;font-size:16px;color:#111">
        <p style="font-size:24px"><b>Neue Methode: Wie Deutsche mit Bitcoin 5.000 € pro Woche verdienen</b></p>
        <p>Liebe Leserin, lieber Leser,</p>
        <p>was die Banken Ihnen nicht erzählen: Immer mehr Deutsche verdienen mit einer neuen, KI-gestützten
        Handelsplattform jeden Monat ein zweites Einkommen - ganz bequem von zu Hause aus.</p>
        <p>Auch Markus K. (52) aus Dortmund war skeptisch. Heute sagt er: <i>„Ich habe mit 250 € angefangen und nach
        drei Wochen bereits 11.380 € auf meinem Konto gehabt.“</i></p>
        <ol><li>Kostenlos registrieren</li><li>Mindesteinlage von 250 € einzahlen</li>
        <li>Der Handelsroboter erledigt den Rest - 24 Stunden am Tag</li></ol>
        <p><b>Wegen der hohen Nachfrage sind nur noch wenige Plätze für Deutschland frei.</b></p>
        <p><a href="http://bitcoin-profit-de.click/anmeldung?ref=nl2611"><b>&gt;&gt; Jetzt kostenlos registrieren</b></a></p>
        <p>Viel Erfolg!<br>Ihre Finanz-Insider-Redaktion</p>
        </body></html>
        """)
    alt = multipart("alternative", [
        text(plain, "UTF-8", "quoted-printable"),
        text(page, "UTF-8", "quoted-printable", "html"),
    ], b_generic(name))
    return build([
        ("From", mailbox("Finanz-Insider", "redaktion@finanz-insider24.click")),
        ("Reply-To", "finanz.insider.kontakt@gmx.de"),
        ("To", SUPPORT),
        ("Subject", subject("Neue Methode: Wie Deutsche mit Bitcoin 5.000 € pro Woche verdienen",
                            "UTF-8")),
        ("Date", rfc_date(at(-90, "+0100"))),
        ("Message-ID", mid_spamware(name, "finanz-insider24.click")),
    ], alt)


# --- Hungarian spam ---------------------------------------------------------------------------

@message("spam", "hu-01-csomag-vamkezelesi-dij")
def _():
    page = T("""
        <html><body style="font-family:Arial,sans-serif;font-size:14px">
        <table width="600" align="center" cellpadding="12" style="border:1px solid #ddd">
        <tr><td style="background:#c8102e;color:#fff;font-size:20px"><b>Csomagkövetés</b></td></tr>
        <tr><td>
        <p>Tisztelt Ügyfelünk!</p>
        <p>Az Ön nevére érkezett küldemény (azonosító: <b>RB734561289HU</b>) jelenleg a budapesti logisztikai
        központunkban várakozik.</p>
        <p>A kézbesítéshez <b>890 Ft</b> vámkezelési díj befizetése szükséges. Kérjük, a díjat <b>48 órán belül</b>
        rendezze, ellenkező esetben a csomagot visszaküldjük a feladónak.</p>
        <p align="center"><a href="http://posta-csomagkovetes.top/hu/fizetes?id=RB734561289HU" style="background:#c8102e;color:#fff;padding:12px 24px;text-decoration:none"><b>Díj befizetése</b></a></p>
        <p>Köszönjük, hogy szolgáltatásunkat választotta!<br>Ügyfélszolgálat</p>
        </td></tr></table></body></html>
        """)
    return build([
        ("From", mailbox("Posta Csomagkövetés", "ertesites@posta-csomagkovetes.top", "UTF-8")),
        ("To", SUPPORT),
        ("Subject", subject("Csomagja várakozik – 890 Ft vámkezelési díj fizetendő", "UTF-8", "B")),
        ("Date", rfc_date(at(-80, "+0100"))),
        # no Message-ID: header
    ], text(page, "UTF-8", "base64", "html"))


@message("spam", "hu-02-hitel-ajanlat")
def _():
    name = "hu-02-hitel-ajanlat"
    body = T("""
        Jó napot,

        Ön pénzügyi nehézségben van? Szüksége van kölcsönre az adósság fizetésére,
        vállalkozás indítására vagy ház vásárlására? Mi kínálunk kölcsönöt
        magánszemélyeknek és cégeknek 2% kamatlábbal évente.

        Kölcsön összeg: 500 000 Ft - 150 000 000 Ft
        Futamidő: 1 - 25 év
        Nincs jövedelemigazolás, BAR lista nem akadály.

        Ha érdekel, kérjük vegye fel a kapcsolatot velünk az alábbi adatokkal:
        Teljes név:
        Ország:
        Kölcsön összege:
        Futamidő:
        Telefonszám:

        E-mail: gyorshitel.ajanlat2026@gmail.com

        Üdvözlettel,
        Kovács László úr
        Pénzügyi tanácsadó
        """)
    return build([
        ("From", mailbox("Hitel Iroda", "hitelezes.magan@hotmail.com")),
        ("Reply-To", "gyorshitel.ajanlat2026@gmail.com"),
        ("To", SUPPORT),
        ("Subject", subject("Sürgős kölcsön ajánlat 2% kamat", "UTF-8")),
        # Wrong sender clock: Date is several hours in the future.
        ("Date", rfc_date(at(4 * 60 + 38, "+0100"))),
        ("Message-ID", mid_exchange_online(name, "EUR")),
    ], text(body, "UTF-8", "quoted-printable"))


# --- Polish spam ------------------------------------------------------------------------------

@message("spam", "pl-01-inwestycja-fake-news")
def _():
    name = "pl-01-inwestycja-fake-news"
    page = T("""
        <html><body style="font-family:Arial,sans-serif;font-size:15px;color:#222">
        <p style="font-size:22px"><b>Polacy zarabiają nawet 18 000 zł miesięcznie dzięki nowej platformie inwestycyjnej</b></p>
        <p>Tysiące Polaków już korzysta z nowej platformy, która automatycznie inwestuje w akcje największych
        spółek i kryptowaluty. Wystarczy 20 minut dziennie i komputer lub telefon.</p>
        <p><img src="http://inwestuj-pl.online/img/wykres.jpg" width="500" height="280"></p>
        <p><i>„Zacząłem od 1000 zł. Po miesiącu wypłaciłem 14 200 zł”</i> - mówi pan Tomasz z Poznania.</p>
        <p><b>Minimalna wpłata to tylko 1000 zł.</b> Liczba miejsc w tym miesiącu jest ograniczona.</p>
        <p><a href="http://inwestuj-pl.online/rejestracja?src=mail"><font size="5"><b>ZAREJESTRUJ SIĘ TERAZ &gt;&gt;</b></font></a></p>
        <p style="font-size:10px;color:#999">Jeśli nie chcesz otrzymywać wiadomości, <a href="http://inwestuj-pl.online/wypisz">wypisz się</a>.</p>
        </body></html>
        """)
    return build([
        ("From", mailbox("Biznes Wiadomości", "redakcja@biznes-wiadomosci24.online", "UTF-8", "B")),
        ("To", SUPPORT),
        ("Subject", subject("Polacy zarabiają nawet 18 000 zł miesięcznie dzięki nowej platformie",
                            "UTF-8", "B")),
        ("Date", rfc_date(at(-124, "+0100"))),
        ("Message-ID", mid_spamware(name, "biznes-wiadomosci24.online")),
    ], text(page, "UTF-8", "base64", "html"))


@message("spam", "pl-02-phish-konto-zablokowane")
def _():
    name = "pl-02-phish-konto-zablokowane"
    page = T("""
        <html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2"></head>
        <body style="font-family:Tahoma,Arial;font-size:13px">
        <p><b>Bank - Centrum Bezpieczeństwa</b></p>
        <p>Szanowny Kliencie,</p>
        <p>wykryliśmy nietypową próbę logowania do Twojego konta z nowego urządzenia. Ze względów bezpieczeństwa
        Twoje konto zostało <b>tymczasowo zablokowane</b>.</p>
        <p>Aby odblokować konto, prosimy o weryfikację danych w ciągu <b>24 godzin</b>:</p>
        <p><a href="http://192.0.2.200/bank/logowanie.php?id=pl88213">Zweryfikuj swoje konto</a></p>
        <p>Brak weryfikacji spowoduje trwałe zablokowanie dostępu do bankowości elektronicznej.</p>
        <p>Z poważaniem<br>Zespół Bezpieczeństwa</p>
        </body></html>
        """)
    return build([
        ("From", mailbox("Bank - Powiadomienia", "powiadomienia@bank-weryfikacja24.top")),
        ("To", SUPPORT),
        ("Subject", subject("Twoje konto zostało tymczasowo zablokowane", "iso-8859-2")),
        ("Date", rfc_date(at(-70, "+0100"))),
        ("Message-ID", "<%s@bank-weryfikacja24.top>" % digest(name)[:18]),
        ("X-Mailer", "Microsoft Outlook Express 6.00.2900.5512"),
    ], text(page, "iso-8859-2", "quoted-printable", "html"))


@message("spam", "pl-03-apteka-potencja")
def _():
    name = "pl-03-apteka-potencja"
    plain = T("""
        Problemy w sypialni? Mamy rozwiązanie!

        V-i-a-g-r-a 100 mg - od 4,99 zł za tabletkę
        C!al!s 20 mg - od 6,49 zł za tabletkę
        Zestaw próbny 10+10 - tylko 99 zł

        * Bez recepty
        * Dyskretna paczka bez nazwy sklepu
        * Płatność przy odbiorze
        * Wysyłka w 24h

        Zamów teraz: http://apteka-meska.online/?p=nov

        Wypisz się: http://apteka-meska.online/wypisz
        """)
    page = T("""
        <html><body style="font-family:Arial;font-size:15px">
        <p style="font-size:22px;color:#0a5"><b>Problemy w sypialni? Mamy rozwiązanie!</b></p>
        <table border="1" cellpadding="6" cellspacing="0">
        <tr><td>V-i-a-g-r-a 100 mg</td><td>od <b>4,99 zł</b> za tabletkę</td></tr>
        <tr><td>C!al!s 20 mg</td><td>od <b>6,49 zł</b> za tabletkę</td></tr>
        <tr><td>Zestaw próbny 10+10</td><td>tylko <b>99 zł</b></td></tr>
        </table>
        <p>&#10004; Bez recepty<br>&#10004; Dyskretna paczka bez nazwy sklepu<br>&#10004; Płatność przy odbiorze<br>&#10004; Wysyłka w 24h</p>
        <p><a href="http://apteka-meska.online/?p=nov"><b>ZAMÓW TERAZ</b></a></p>
        <p style="font-size:10px"><a href="http://apteka-meska.online/wypisz">Wypisz się</a></p>
        </body></html>
        """)
    alt = multipart("alternative", [
        text(plain, "UTF-8", "quoted-printable"),
        text(page, "UTF-8", "quoted-printable", "html"),
    ], b_generic(name))
    return build([
        ("From", mailbox("Apteka Online", "sklep@apteka-meska.online")),
        ("To", SUPPORT),
        ("Subject", subject("Tabletki na potencję bez recepty – dyskretna wysyłka", "UTF-8")),
        ("Date", rfc_date(at(-49, "+0200"))),
        ("Message-ID", mid_spamware(name, "apteka-meska.online")),
    ], alt)


# --- Czech spam -------------------------------------------------------------------------------

@message("spam", "cs-01-vyhra-iphone-pruzkum")
def _():
    name = "cs-01-vyhra-iphone-pruzkum"
    page = T("""
        <html><body style="font-family:Arial,sans-serif;font-size:15px;text-align:center">
        <p style="font-size:26px;color:#e4002b"><b>GRATULUJEME!</b></p>
        <p>Vážený zákazníku, byl(a) jste vybrán(a) jako jeden z 10 uživatelů, kteří dnes mohou získat
        nový <b>iPhone 17 Pro</b> za pouhou <b>1 Kč</b>.</p>
        <p><img src="http://odmena-cz.icu/img/iphone17pro.png" width="300" height="300"></p>
        <p>Stačí vyplnit krátký dotazník (30 sekund) o vaší spokojenosti se službami a zaplatit poštovné.</p>
        <p><font color="#e4002b"><b>Nabídka platí pouze dnes do 23:59!</b></font></p>
        <p><a href="http://odmena-cz.icu/iphone?u=cz2611" style="background:#e4002b;color:#fff;padding:14px 34px;font-size:18px;text-decoration:none"><b>ZÍSKAT ODMĚNU</b></a></p>
        <p style="font-size:10px;color:#999">Pokud si nepřejete dostávat tyto zprávy, <a href="http://odmena-cz.icu/odhlasit">odhlaste se</a>.</p>
        </body></html>
        """)
    return build([
        ("From", mailbox("Zákaznický průzkum", "odmeny@vernostni-program.icu", "UTF-8", "B")),
        ("To", SUPPORT),
        ("Subject", subject("Gratulujeme! Byl(a) jste vybrán(a) – iPhone 17 Pro za 1 Kč", "UTF-8", "B")),
        ("Message-ID", mid_spamware(name, "vernostni-program.icu")),
        # no Date: header
    ], text(page, "UTF-8", "base64", "html"))


@message("spam", "cs-02-phish-schranka-zrusena")
def _():
    name = "cs-02-phish-schranka-zrusena"
    page = T("""
        <html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1250"></head>
        <body style="font-family:Arial;font-size:13px">
        <p>Vážený uživateli <b>support@example.test</b>,</p>
        <p>Vaše e-mailová schránka nebyla ověřena v souladu s novými bezpečnostními zásadami.
        Pokud schránku neověříte do <b>24 hodin</b>, bude trvale zrušena a všechny uložené zprávy budou smazány.</p>
        <p><a href="http://203.0.113.9/~mail/overeni.html?e=support@example.test"><b>OVĚŘIT SCHRÁNKU</b></a></p>
        <p>Děkujeme za pochopení.<br>Tým podpory e-mailu</p>
        <p style="font-size:10px;color:#888">Tato zpráva byla vygenerována automaticky, neodpovídejte na ni.</p>
        </body></html>
        """)
    return build([
        ("From", mailbox("Podpora e-mailu", "no-reply@mail-podpora.ru")),
        ("To", SUPPORT),
        ("Subject", subject("Upozornění: Vaše e-mailová schránka bude zrušena", "windows-1250")),
        ("Date", rfc_date(at(-11, "+0100"))),
        ("Message-ID", "<%s@mail-podpora.ru>" % digest(name)[:26]),
    ], text(page, "windows-1250", "quoted-printable", "html"))


# ============================================================================================
# Writing and checking
# ============================================================================================

def header_value(raw, field):
    """The unfolded value of the first `field` header of a raw message, or None."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    m = re.search(r"(?im)^%s:[ \t]*([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)" % re.escape(field), head)
    return re.sub(r"\r\n[ \t]+", " ", m.group(1)) if m else None


def generate():
    out = {}
    for label, name, fn in MESSAGES:
        raw = fn()
        assert b"\n" not in raw.replace(b"\r\n", b""), name
        assert all(len(line) <= 998 for line in raw.split(b"\r\n")), name
        assert header_value(raw, "To") in (SUPPORT, "Example Support <%s>" % SUPPORT,
                                           "'Example Support' <%s>" % SUPPORT), name
        if label == "ham":
            assert header_value(raw, "Date") and header_value(raw, "Message-ID"), name
        out["%s/%s.eml" % (label, name)] = raw
    mids = [header_value(raw, "Message-ID") for raw in out.values()]
    mids = [m for m in mids if m]
    assert len(mids) == len(set(mids)), "duplicate Message-ID"
    return out


def write(outdir):
    files = generate()
    for sub in ("ham", "spam"):
        (outdir / sub).mkdir(parents=True, exist_ok=True)
    stale = sorted(str(p.relative_to(outdir)) for sub in ("ham", "spam")
                   for p in (outdir / sub).glob("*.eml") if str(p.relative_to(outdir)) not in files)
    for rel, raw in files.items():
        (outdir / rel).write_bytes(raw)
    print("wrote %d ham and %d spam messages under %s" % (
        sum(r.startswith("ham/") for r in files), sum(r.startswith("spam/") for r in files), outdir))
    for rel in stale:
        print("not generated by this script: %s" % rel)


def as_delivered(path, when, raw):
    """The message as SpamAssassin sees it after delivery along `path`.

    external: one Postfix hop from an outside client, as on a real MX (the client address is
              from TEST-NET-1, which SpamAssassin flags as RCVD_ILLEGAL_IP);
    loopback: what the tests/mailserver sandbox does (checked against real deliveries): Postfix
              takes the message from 127.0.0.1 (smtpd_peername_lookup = no), counts that client
              as local (local_header_rewrite_clients = permit_inet_interfaces) and so appends a
              Date: and a Message-Id: where they are missing; Dovecot LMTP then adds
              Return-Path, Delivered-To and its own Received.
    """
    date = rfc_date(when)
    if path == "external":
        return ("Received: from mail.sender.test (mail.sender.test [192.0.2.10])\r\n"
                "\tby mx.example.test (Postfix) with ESMTP id 4Xk2Lm0Q7bz9sTv\r\n"
                "\tfor <%s>; %s (UTC)\r\n" % (SUPPORT, date)).encode("ascii") + raw
    assert path == "loopback", path
    queue_id = "EFB08992822"
    m = re.search(r"<([^<>@\s]+@[^<>\s]+)>|([^\s<>\"]+@[^\s<>\"]+)", header_value(raw, "From") or "")
    sender = (m.group(1) or m.group(2)) if m else "unknown@sender.test"
    head, body = raw.split(b"\r\n\r\n", 1)
    if header_value(raw, "Date") is None:
        head += ("\r\nDate: %s (UTC)" % date).encode("ascii")
    if header_value(raw, "Message-ID") is None:
        head += ("\r\nMessage-Id: <%s.%s@mail.example.test>"
                 % (when.astimezone(datetime.timezone.utc).strftime("%Y%m%d%H%M%S"), queue_id)).encode("ascii")
    trace = ("Return-Path: <%s>\r\n"
             "Delivered-To: %s\r\n"
             "Received: from mail.example.test\r\n"
             "\tby vm with LMTP\r\n"
             "\tid vO0VAIeCBGs9HAAAg+zDdQ\r\n"
             "\t(envelope-from <%s>)\r\n"
             "\tfor <%s>; %s\r\n"
             "Received: from [127.0.0.1] (unknown [127.0.0.1])\r\n"
             "\tby mail.example.test (Postfix) with ESMTP id %s\r\n"
             "\tfor <%s>; %s (UTC)\r\n"
             % (sender, SUPPORT, sender, SUPPORT, date, queue_id, SUPPORT, date)).encode("ascii")
    return trace + head + b"\r\n\r\n" + body


def spamc(raw, host, port):
    """Score and [(points, rule)] of one message, from `spamc -R`."""
    res = subprocess.run(["spamc", "-d", host, "-p", str(port), "-R"], input=raw,
                         capture_output=True, timeout=300)
    out = res.stdout.decode("utf-8", "replace")
    m = re.match(r"\s*(-?[\d.]+)/([\d.]+)", out)
    if not m:
        raise RuntimeError("spamc gave no score (rc %d): %s %s" % (
            res.returncode, out[:200], res.stderr.decode("utf-8", "replace")[:200]))
    rules = []
    for line in out.split("---- ----------------------", 1)[-1].splitlines():
        r = re.match(r"\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s", line)
        if r:
            rules.append((float(r.group(1)), r.group(2)))
    return float(m.group(1)), rules


def summary(title, rows, col):
    ham = [r[col] for r in rows if r[0] == "ham"]
    spam = [r[col] for r in rows if r[0] == "spam"]
    print("%s: spam caught %d/%d, ham held %d/%d (ham min %.1f, max %.1f; spam min %.1f, "
          "median %.1f, max %.1f)" % (
              title, sum(x >= THRESHOLD for x in spam), len(spam),
              sum(x < THRESHOLD for x in ham), len(ham), min(ham), max(ham),
              min(spam), sorted(spam)[len(spam) // 2], max(spam)))


def check(outdir, host, port, delivered, markdown):
    """Scores every file along both delivery paths; symbols are those of the external path."""
    rows = []
    for label in ("ham", "spam"):
        for path in sorted((outdir / label).glob("*.eml")):
            raw = path.read_bytes()
            ext, rules = spamc(as_delivered("external", delivered, raw), host, port)
            loop, _ = spamc(as_delivered("loopback", delivered, raw), host, port)
            top = sorted((r for r in rules if abs(r[0]) >= 0.05), key=lambda r: (-r[0], r[1]))
            rows.append((label, path.name, ext, loop, top))
    if markdown:
        print("| file | external | loopback | top symbols (external) |")
        print("|---|---:|---:|---|")
    for label, fname, ext, loop, top in rows:
        syms = ", ".join("%s %.1f" % (n, p) for p, n in top[:5]) or "-"
        if markdown:
            print("| `%s/%s` | %.1f | %.1f | %s |" % (label, fname, ext, loop, syms))
        else:
            print("%-4s %-42s %5.1f %5.1f  %s" % (label, fname, ext, loop, syms))
    print()
    print("delivered at %s, threshold %.1f" % (rfc_date(delivered), THRESHOLD))
    summary("external", rows, 2)
    summary("loopback", rows, 3)


def main():
    global BASE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="directory to write ham/ and spam/ under")
    ap.add_argument("--now", action="store_true",
                    help="date the messages relative to the current time instead of BASE")
    ap.add_argument("--check", action="store_true", help="score the files with spamc instead")
    ap.add_argument("--spamd", default="127.0.0.1:17830", help="HOST:PORT of spamd (--check)")
    ap.add_argument("--delivered", default=None,
                    help="Received: date for --check: ISO 8601 time or 'now' (default: BASE)")
    ap.add_argument("--markdown", action="store_true", help="--check: print a markdown table")
    args = ap.parse_args()
    if args.now:
        BASE = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    if args.check:
        if args.delivered is None:
            delivered = BASE
        elif args.delivered == "now":
            delivered = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        else:
            delivered = datetime.datetime.fromisoformat(args.delivered.replace("Z", "+00:00"))
        host, _, port = args.spamd.rpartition(":")
        check(args.out, host, int(port), delivered, args.markdown)
    else:
        write(args.out)


if __name__ == "__main__":
    sys.exit(main())
