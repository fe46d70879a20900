#!/usr/bin/env python3
"""Generates the decoding test corpus in tests/corpus/.

    python3 tests/corpus/make_corpus.py          # (re)write every NAME.eml and NAME.toml
    python3 tests/corpus/make_corpus.py --check  # also parse every .eml with Python's email
                                                 # package and list where it disagrees

Every message is assembled byte by byte here (not with Python's email generator), so broken
forms stay broken exactly as written and the output is the same on every machine: no clock,
no randomness, no zlib (whose output can differ between library versions). See README.md for
the meaning of the .toml keys.
"""

import base64
import datetime
import email.utils
import hashlib
import re
import struct
import sys
import unicodedata
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = []  # (name, raw bytes, expectations)

KEYS = [
    "description", "subject", "display_subject", "from", "from_name", "text_contains",
    "text_excludes", "new_part_contains", "new_part_excludes", "attachments", "flags_include",
    "language",
]

SUPPORT = "Example Shop Support <support@example.test>"


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------

def crlf(text):
    """Any line ends to CRLF."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def enc(text, codec):
    return crlf(text).encode(codec)


def date(day, hour, minute, tz="+0100"):
    """A Date header value in November 2026 (weekday computed, not typed)."""
    sign = 1 if tz[0] == "+" else -1
    offset = datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
    dt = datetime.datetime(2026, 11, day, hour, minute, 0, tzinfo=datetime.timezone(offset))
    return email.utils.format_datetime(dt)


def q_word(text, charset="utf-8", codec=None, q="Q", hexcase="upper"):
    """One RFC 2047 Q encoded word, with the conservative 'phrase' alphabet."""
    data = text.encode(codec or charset)
    out = []
    for c in data:
        ch = chr(c)
        if c == 0x20:
            out.append("_")
        elif c < 128 and (ch.isalnum() or ch in "!*+-/"):
            out.append(ch)
        else:
            out.append(("=%02X" if hexcase == "upper" else "=%02x") % c)
    return "=?%s?%s?%s?=" % (charset, q, "".join(out))


def b_word(text, charset="utf-8", codec=None, q="B", data=None):
    if data is None:
        data = text.encode(codec or charset)
    return "=?%s?%s?%s?=" % (charset, q, base64.b64encode(data).decode("ascii"))


def words(text, charset="utf-8", codec=None, mode="B", limit=75, sep="\r\n "):
    """Text as several encoded words (split between characters, each at most `limit` long),
    joined by folding whitespace."""
    make = (lambda s: b_word(s, charset, codec)) if mode == "B" else (lambda s: q_word(s, charset, codec))
    out, cur = [], ""
    for ch in text:
        if cur and len(make(cur + ch)) > limit:
            out.append(make(cur))
            cur = ch
        else:
            cur += ch
    out.append(make(cur))
    return sep.join(out)


def qp(data):
    """Quoted-printable (RFC 2045), uppercase hex, soft breaks at 76 columns."""
    lines = []
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
        lines.append("\r\n".join(wrapped))
    return "\r\n".join(lines).encode("ascii")


def b64(data, width=76):
    s = base64.b64encode(data).decode("ascii")
    return ("\r\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\r\n").encode("ascii")


def encode_body(data, cte):
    if cte == "quoted-printable":
        return qp(data)
    if cte == "base64":
        return b64(data)
    return data


def head(fields):
    """Header fields: (name, value) with value str (must be ASCII) or bytes (written as is)."""
    out = b""
    for name, value in fields:
        if isinstance(value, str):
            value = value.encode("ascii")
        out += name.encode("ascii") + b": " + value + b"\r\n"
    return out


class Part:
    def __init__(self, fields, body):
        self.fields = list(fields)
        self.body = body

    def bytes(self):
        return head(self.fields) + b"\r\n" + self.body


def text_part(text, charset="utf-8", cte="8bit", subtype="plain", codec=None, params=""):
    data = enc(text, codec or charset)
    fields = [("Content-Type", 'text/%s; charset="%s"%s' % (subtype, charset, params))]
    if cte:
        fields.append(("Content-Transfer-Encoding", cte))
    return Part(fields, encode_body(data, cte))


def multipart(subtype, parts, boundary, params="", preamble=True, close=True):
    body = b"This is a multi-part message in MIME format.\r\n" if preamble else b""
    for p in parts:
        # The CRLF before the next delimiter belongs to the delimiter (RFC 2046 5.1.1), so each
        # part's content is exactly p.body.
        body += b"--" + boundary.encode() + b"\r\n" + p.bytes() + b"\r\n"
    if close:
        body += b"--" + boundary.encode() + b"--\r\n"
    return Part([("Content-Type", 'multipart/%s; boundary="%s"%s' % (subtype, boundary, params))], body)


Message = Part


def binary_part(content, ctype, disposition, cte="base64", extra=()):
    """An attachment: ctype and disposition are the raw header values."""
    fields = [("Content-Type", ctype)]
    fields += list(extra)
    if cte:
        fields.append(("Content-Transfer-Encoding", cte))
    if disposition:
        fields.append(("Content-Disposition", disposition))
    return Part(fields, encode_body(content, cte) if cte in ("base64", "quoted-printable") else content)


def mail(name, frm, subject, when, body, *, to=SUPPORT, mid=True, mime="1.0", extra=()):
    """A whole message: standard header fields, then the body Part's own fields."""
    fields = [("From", frm), ("To", to), ("Subject", subject), ("Date", when)]
    if mid:
        fields.append(("Message-ID", "<%s@mail.customer.test>" % name))
    fields += list(extra)
    if mime:
        fields.append(("MIME-Version", mime))
    return head(fields) + body.bytes()


def att(filename, content_type, content):
    return {"filename": filename, "content_type": content_type, "size": len(content)}


def case(name, raw, **expect):
    assert "subject" in expect, name
    for k in expect:
        assert k in KEYS, (name, k)
    assert all(n != name for n, _, _ in CASES), name
    CASES.append((name, raw, expect))


# --------------------------------------------------------------------------------------------
# Binary payloads (deterministic)
# --------------------------------------------------------------------------------------------

def fake_pdf(title, pad=0):
    """A few hundred bytes that look like a one-page PDF (binary comment line included)."""
    stream = "BT /F1 14 Tf 72 770 Td (" + title + ") Tj ET\n"
    text = (
        "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n"
        "4 0 obj\n<< /Length " + str(len(stream)) + " >>\nstream\n" + stream + "endstream\nendobj\n"
        "5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n"
        "trailer\n<< /Root 1 0 R >>\n" + ("%" * pad + "\n" if pad else "") + "%%EOF\n"
    )
    return text.encode("latin-1")


def tiny_png(width=16, height=16, rgb=(200, 30, 30)):
    """A valid PNG with a stored (uncompressed) deflate block: identical bytes everywhere."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    stored = b"\x01" + struct.pack("<HH", len(raw), len(raw) ^ 0xFFFF) + raw
    idat = b"\x78\x01" + stored + struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def hash_int(text):
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def garbage(n):
    """n pseudo-random bytes from a hash chain."""
    out, seed = b"", b"ticketd corpus garbage"
    while len(out) < n:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return out[:n]


# --------------------------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------------------------

HU_INVOICE = """\
Tisztelt Ügyfélszolgálat!

A múlt héten leadott 48213-as számú rendelésemhez még mindig nem kaptam meg a számlát.
A fizetés bankkártyával megtörtént, az összeget már levonták a bankszámlámról.
Kérem, küldjék el a számlát erre az e-mail címre, mert a könyvelőm sürgősen kéri.
A weboldalon a számlaletöltő űrlap sem működik, csak egy hibaüzenet jelenik meg.
Előre is köszönöm a segítségüket.

Üdvözlettel:
Kovács Anna
"""
HU_SNIPPETS = ["még mindig nem kaptam meg a számlát", "a könyvelőm sürgősen kéri",
               "űrlap sem működik", "Előre is köszönöm a segítségüket."]

CS_LOGIN = """\
Dobrý den,

od včerejšího večera se nemohu přihlásit do svého účtu ve vašem e-shopu.
Po zadání hesla se stránka jen znovu načte a žádná chybová hláška se nezobrazí.
Heslo jsem si už dvakrát obnovil, ať už v Chrome nebo ve Firefoxu, ale nepomohlo to.
Můžete se prosím podívat, co se děje? Potřebuji ještě dnes stáhnout fakturu.

S pozdravem
Jan Novák
"""
CS_SNIPPETS = ["nemohu přihlásit do svého účtu ve vašem e-shopu", "žádná chybová hláška se nezobrazí",
               "ať už v Chrome nebo ve Firefoxu", "Potřebuji ještě dnes stáhnout fakturu."]

PL_LOGIN = """\
Dzień dobry,

od wczoraj nie mogę zalogować się do panelu klienta.
Po wpisaniu hasła pojawia się komunikat o błędzie serwera i strona przestaje odpowiadać.
Próbowałem już z innej przeglądarki oraz z telefonu, ale efekt jest ten sam.
W środę wszystko działało, więc podejrzewam, że coś źle się zaktualizowało.
Proszę o pilną pomoc, ponieważ muszę pobrać fakturę za październik.

Z poważaniem
Piotr Wiśniewski
"""
PL_SNIPPETS = ["nie mogę zalogować się do panelu klienta", "W środę wszystko działało",
               "coś źle się zaktualizowało", "muszę pobrać fakturę za październik."]

PL_PAYMENT = """\
Dzień dobry,

próbuję opłacić zamówienie nr 48213 kartą, ale płatność za każdym razem jest odrzucana.
Bank twierdzi, że po ich stronie wszystko jest w porządku i że żadna transakcja nie dotarła.
Czy mogę zapłacić przelewem tradycyjnym? Zależy mi na szybkiej wysyłce.

Pozdrawiam serdecznie
Paweł Wójcik
"""
PL_PAYMENT_SNIPPETS = ["płatność za każdym razem jest odrzucana", "żadna transakcja nie dotarła",
                       "Czy mogę zapłacić przelewem tradycyjnym?"]

HE_INVOICE = """\
שלום רב,

הזמנתי מוצר מהאתר שלכם לפני שבוע ועדיין לא קיבלתי חשבונית.
התשלום בוצע בכרטיס אשראי והסכום כבר ירד מהחשבון שלי.
אבקש לשלוח לי את החשבונית בהקדם לכתובת הדואר הזו.
מספר ההזמנה הוא 48213.

תודה מראש,
דנה כהן
"""
HE_SNIPPETS = ["ועדיין לא קיבלתי חשבונית", "התשלום בוצע בכרטיס אשראי",
               "אבקש לשלוח לי את החשבונית בהקדם", "מספר ההזמנה הוא 48213."]

DE_SHOP = """\
Guten Tag,

seit heute Morgen lässt sich Ihr Webshop bei mir nicht mehr öffnen.
Die Seite lädt etwa eine Minute und zeigt dann nur eine weiße Fläche.
Ich habe den Browser-Cache geleert und es mit zwei verschiedenen Geräten versucht.
Könnten Sie bitte prüfen, ob es eine Störung gibt? Ich möchte meine Bestellung
über 89,90 EUR gern noch heute abschließen.

Mit freundlichen Grüßen
Michael Schäfer
"""
DE_SNIPPETS = ["seit heute Morgen lässt sich Ihr Webshop bei mir nicht mehr öffnen",
               "nur eine weiße Fläche", "ob es eine Störung gibt?", "Mit freundlichen Grüßen"]

EN_INVOICE = """\
Hello,

I placed an order (#48213) last Tuesday and paid by credit card, but I still have not received the invoice.
The order confirmation arrived, yet the invoice link in it returns an error page.
Could you please send the invoice to this address? Our accounting department needs it before the end of the month.

Kind regards,
Anna Smith
"""
EN_SNIPPETS = ["I still have not received the invoice", "the invoice link in it returns an error page",
               "Our accounting department needs it before the end of the month."]


# Replies: (customer's new text, support's earlier message)
REPLY = {
    "en": ("""\
Hi,

thank you for the quick answer. Unfortunately the link you sent me still opens an empty page.
I tried it again this morning from my office computer and from my phone.
Could you please attach the invoice as a PDF to your next email instead?

Best regards,
Anna Smith
""", """\
Dear Anna,

thank you for contacting us. You can download your invoice at any time from your customer account under Orders.
If the download does not work, please let us know and we will send it by email.

Kind regards,
Example Shop Support
"""),
    "de": ("""\
Hallo,

vielen Dank für Ihre schnelle Antwort. Leider lädt die Seite auch nach dem Löschen der Cookies nicht.
Ich habe es heute früh noch einmal mit Firefox und Edge versucht, beide Male ohne Erfolg.
Können Sie mir die Bestellung vielleicht telefonisch aufnehmen?

Viele Grüße
Michael Schäfer
""", """\
Sehr geehrter Herr Schäfer,

vielen Dank für Ihre Nachricht. Bitte löschen Sie die Cookies Ihres Browsers und versuchen Sie es erneut.
Sollte das Problem weiterhin bestehen, melden Sie sich bitte noch einmal bei uns.

Mit freundlichen Grüßen
Ihr Support-Team
"""),
    "hu": ("""\
Kedves Ügyfélszolgálat!

Köszönöm a gyors választ, de a számla továbbra sem érkezett meg.
A levélszemét mappát is átnéztem, ott sincs semmi.
Kérem, csatolják a számlát PDF formátumban a következő levelükhöz.

Üdvözlettel:
Kovács Anna
""", """\
Kedves Kovács Anna!

Köszönjük megkeresését. A számlát a rendszer automatikusan elküldte a megadott e-mail címre.
Kérjük, ellenőrizze a levélszemét mappát is, mert a számlák néha oda kerülnek.

Üdvözlettel:
Ügyfélszolgálat
"""),
    "cs": ("""\
Dobrý den,

děkuji za odpověď. Bohužel ani po vymazání mezipaměti se stále nemohu přihlásit.
Zkoušel jsem to i z jiného počítače a výsledek je stejný.
Mohli byste mi prosím poslat fakturu e-mailem?

S pozdravem
Jan Novák
""", """\
Dobrý den, pane Nováku,

děkujeme za Vaši zprávu. Zkuste prosím vymazat mezipaměť prohlížeče a přihlásit se znovu.
Pokud potíže přetrvávají, dejte nám prosím vědět.

S pozdravem
Zákaznická podpora
"""),
    "pl": ("""\
Dzień dobry,

dziękuję za szybką odpowiedź. Niestety po zmianie hasła nadal nie mogę się zalogować.
Sprawdziłem też na innym komputerze i błąd wygląda identycznie.
Czy mogą Państwo przesłać mi fakturę bezpośrednio na ten adres?

Z poważaniem
Piotr Wiśniewski
""", """\
Szanowny Panie,

dziękujemy za wiadomość. Prosimy o zresetowanie hasła za pomocą linku na stronie logowania.
Jeżeli problem nadal występuje, prosimy o ponowny kontakt.

Pozdrawiamy
Dział Obsługi Klienta
"""),
    "he": ("""\
שלום,

תודה על התשובה המהירה. לצערי עדיין לא קיבלתי את החשבונית, גם אחרי שבדקתי בתיקיית הספאם.
אשמח אם תשלחו לי אותה כקובץ PDF מצורף להודעה הבאה.

בברכה,
דנה כהן
""", """\
שלום דנה,

תודה שפנית אלינו. החשבונית נשלחה אוטומטית לכתובת הדואר שמסרת בעת ההזמנה.
אנא בדקי גם את תיקיית דואר הזבל.

בברכה,
צוות התמיכה
"""),
}
# (a sentence of the new text, another one, a sentence only in the quoted history)
REPLY_SNIPPETS = {
    "en": ("the link you sent me still opens an empty page", "attach the invoice as a PDF",
           "You can download your invoice at any time"),
    "de": ("Leider lädt die Seite auch nach dem Löschen der Cookies nicht.",
           "Können Sie mir die Bestellung vielleicht telefonisch aufnehmen?",
           "Bitte löschen Sie die Cookies Ihres Browsers"),
    "hu": ("a számla továbbra sem érkezett meg", "csatolják a számlát PDF formátumban",
           "A számlát a rendszer automatikusan elküldte"),
    "cs": ("ani po vymazání mezipaměti se stále nemohu přihlásit", "poslat fakturu e-mailem",
           "Zkuste prosím vymazat mezipaměť prohlížeče"),
    "pl": ("po zmianie hasła nadal nie mogę się zalogować", "przesłać mi fakturę bezpośrednio",
           "Prosimy o zresetowanie hasła"),
    "he": ("לצערי עדיין לא קיבלתי את החשבונית", "כקובץ PDF מצורף להודעה הבאה",
           "החשבונית נשלחה אוטומטית"),
}

CUSTOMER = {
    "en": ("Anna Smith", "anna.smith@customer.test"),
    "de": ("Michael Schäfer", "m.schaefer@kunde.test"),
    "hu": ("Kovács Anna", "anna.kovacs@ugyfel.test"),
    "cs": ("Jan Novák", "jan.novak@zakaznik.test"),
    "pl": ("Piotr Wiśniewski", "piotr.wisniewski@klient.test"),
    "he": ("דנה כהן", "dana.cohen@lakoach.test"),
}

TZ = {"en": "+0000", "de": "+0100", "hu": "+0100", "cs": "+0100", "pl": "+0100", "he": "+0200"}


def from_hdr(lang, charset="utf-8", mode="Q"):
    name, addr = CUSTOMER[lang]
    if all(ord(c) < 128 for c in name):
        return "%s <%s>" % (name, addr)
    word = q_word(name, charset) if mode == "Q" else b_word(name, charset)
    return "%s <%s>" % (word, addr)


def subj(text, charset="utf-8", mode="B"):
    if all(ord(c) < 128 for c in text):
        return text
    return words(text, charset, mode=mode)


def visual(line):
    """A logical-order Hebrew line in visual order: reversed, digit/Latin runs kept LTR."""
    rev = line[::-1]
    return re.sub(r"[0-9A-Za-z]+", lambda m: m.group(0)[::-1], rev)


# --------------------------------------------------------------------------------------------
# 1. Charsets
# --------------------------------------------------------------------------------------------

def charsets():
    # UTF-8, Thunderbird
    s = "Nem kaptam meg a számlát (48213)"
    case("charset-utf8-hu",
         mail("charset-utf8-hu", from_hdr("hu"), subj(s), date(23, 9, 14),
              text_part(HU_INVOICE, "UTF-8", "8bit", params="; format=flowed"),
              extra=[("User-Agent", "Mozilla Thunderbird")]),
         description="UTF-8 body sent 8bit, Hungarian with ő and ű; Subject as UTF-8 B encoded word, From name as Q",
         subject=s, **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, attachments=[], language="hu")

    # ISO-8859-1, German, Outlook Express
    s = "Webshop lässt sich nicht öffnen"
    case("charset-iso-8859-1-de",
         mail("charset-iso-8859-1-de", "%s <m.schaefer@kunde.test>" % q_word("Michael Schäfer", "iso-8859-1"),
              q_word(s, "iso-8859-1"), date(23, 8, 2),
              text_part(DE_SHOP, "iso-8859-1", "quoted-printable"),
              extra=[("X-Mailer", "Microsoft Outlook Express 6.00.2900.5931")]),
         description="ISO-8859-1 quoted-printable body (German umlauts and ß), ISO-8859-1 Q encoded Subject and From name",
         subject=s, **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schäfer",
         text_contains=DE_SNIPPETS, language="de")

    # ISO-8859-2 Hungarian, 8bit
    s = "Hiányzó számla, sürgős kérés"
    case("charset-iso-8859-2-hu",
         mail("charset-iso-8859-2-hu", from_hdr("hu", "ISO-8859-2"), q_word(s, "ISO-8859-2"), date(23, 10, 5),
              text_part(HU_INVOICE, "ISO-8859-2", "8bit"),
              extra=[("X-Mailer", "Microsoft Outlook Express 6.00.2900.2180")]),
         description="ISO-8859-2 body sent 8bit: Hungarian ő (0xF5) and ű (0xFB) must not turn into õ/û (Latin-1) or U+FFFD",
         subject=s, **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, text_excludes=["õ", "û", "\ufffd"], language="hu")

    # ISO-8859-2 Czech, QP
    s = "Nemohu se přihlásit do účtu"
    case("charset-iso-8859-2-cs",
         mail("charset-iso-8859-2-cs", from_hdr("cs", "iso-8859-2", "B"), b_word(s, "iso-8859-2"), date(23, 11, 40),
              text_part(CS_LOGIN, "iso-8859-2", "quoted-printable"),
              extra=[("User-Agent", "Roundcube Webmail/1.4.15")]),
         description="ISO-8859-2 quoted-printable body (Czech ř ě š č ž ů ť), ISO-8859-2 B encoded Subject and From name",
         subject=s, **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novák",
         text_contains=CS_SNIPPETS, text_excludes=["\ufffd"], language="cs")

    # ISO-8859-2 Polish, base64
    s = "Nie mogę zalogować się do panelu"
    case("charset-iso-8859-2-pl",
         mail("charset-iso-8859-2-pl", from_hdr("pl", "iso-8859-2"), q_word(s, "iso-8859-2"), date(23, 12, 1),
              text_part(PL_LOGIN, "iso-8859-2", "base64"),
              extra=[("X-Mailer", "Poczta Onet")]),
         description="ISO-8859-2 base64 body (Polish ą ć ę ł ń ó ś ź ż), ISO-8859-2 Q encoded Subject and From name",
         subject=s, **{"from": "piotr.wisniewski@klient.test"}, from_name="Piotr Wiśniewski",
         text_contains=PL_SNIPPETS, text_excludes=["\ufffd"], language="pl")

    # ISO-8859-8 visual Hebrew
    vis_text = "\n".join(visual(l) for l in HE_INVOICE.split("\n"))
    s_vis = visual("לא קיבלתי חשבונית")
    case("charset-iso-8859-8-visual-he",
         mail("charset-iso-8859-8-visual-he", "%s <dana.cohen@lakoach.test>" % b_word(visual("דנה כהן"), "iso-8859-8"),
              b_word(s_vis, "iso-8859-8"), date(23, 9, 30, "+0200"),
              text_part(vis_text, "iso-8859-8", "8bit")),
         description="ISO-8859-8 (visual order: lines stored reversed, as old Hebrew mailers did). The decoder must only "
                     "decode, not reorder: all expected strings here are in storage order (i.e. reversed Hebrew)",
         subject=s_vis, **{"from": "dana.cohen@lakoach.test"}, from_name=visual("דנה כהן"),
         text_contains=[visual(x) for x in ["ועדיין לא קיבלתי חשבונית", "התשלום בוצע בכרטיס אשראי"]]
         + [visual("מספר ההזמנה הוא 48213.")],
         text_excludes=["\ufffd"], language="he")

    # ISO-8859-8-I logical Hebrew, QP
    s = "לא קיבלתי חשבונית להזמנה 48213"
    case("charset-iso-8859-8-i-he",
         mail("charset-iso-8859-8-i-he", "%s <dana.cohen@lakoach.test>" % q_word("דנה כהן", "iso-8859-8-i", "iso-8859-8"),
              b_word(s, "ISO-8859-8-I", "iso-8859-8"), date(23, 9, 31, "+0200"),
              text_part(HE_INVOICE, "ISO-8859-8-I", "quoted-printable", codec="iso-8859-8"),
              extra=[("X-Mailer", "Microsoft Outlook Express 6.00.2800.1106")]),
         description="ISO-8859-8-I (logical order Hebrew), quoted-printable body; the -I label must be known as ISO-8859-8 "
                     "in body, Subject (B) and From name (Q)",
         subject=s, **{"from": "dana.cohen@lakoach.test"}, from_name="דנה כהן",
         text_contains=HE_SNIPPETS, text_excludes=["\ufffd"], language="he")

    # windows-1250 Czech: š ž ť differ from ISO-8859-2
    s = "Nemohu se přihlásit – účet je zablokovaný"
    case("charset-windows-1250-cs",
         mail("charset-windows-1250-cs", "%s <jan.novak@zakaznik.test>" % q_word("Jan Novák", "windows-1250"),
              q_word(s, "windows-1250"), date(23, 13, 15),
              text_part(CS_LOGIN, "windows-1250", "quoted-printable"),
              extra=[("X-Mailer", "Microsoft Office Outlook 11")]),
         description="windows-1250 quoted-printable Czech: š (0x9A), ž (0x9E), ť (0x9D) sit where ISO-8859-2 has other "
                     "letters, so decoding as Latin-2 fails the snippets; en dash 0x96 in the Subject",
         subject=s, **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novák",
         text_contains=CS_SNIPPETS, text_excludes=["\ufffd"], language="cs")

    # windows-1250 Polish with „” quotes, 8bit
    pl = PL_LOGIN.replace("pojawia się komunikat o błędzie serwera",
                          "pojawia się komunikat „Błąd serwera, spróbuj później”")
    s = "Błąd logowania – proszę o pilną pomoc"
    case("charset-windows-1250-pl",
         mail("charset-windows-1250-pl", "%s <piotr.wisniewski@klient.test>" % q_word("Piotr Wiśniewski", "windows-1250"),
              q_word(s, "windows-1250"), date(23, 13, 20),
              text_part(pl, "windows-1250", "8bit"),
              extra=[("X-Mailer", "Microsoft Outlook 14.0")]),
         description="windows-1250 8bit Polish: ą (0xB9), ś (0x9C), ź (0x9F) and „” (0x84, 0x94) differ from ISO-8859-2",
         subject=s, **{"from": "piotr.wisniewski@klient.test"}, from_name="Piotr Wiśniewski",
         text_contains=PL_SNIPPETS + ["„Błąd serwera, spróbuj później”"], text_excludes=["\ufffd"], language="pl")

    # windows-1252 German with € and „“
    de = DE_SHOP.replace("über 89,90 EUR", "über 89,90 €").replace(
        "Ich habe den Browser-Cache", "Der Button „Zur Kasse“ reagiert auch nicht.\nIch habe den Browser-Cache")
    s = "Bestellung über 89,90 € nicht möglich"
    case("charset-windows-1252-de",
         mail("charset-windows-1252-de", "%s <m.schaefer@kunde.test>" % q_word("Michael Schäfer", "windows-1252"),
              q_word(s, "windows-1252"), date(23, 14, 2),
              text_part(de, "windows-1252", "quoted-printable"),
              extra=[("X-Mailer", "Microsoft Outlook 15.0")]),
         description="windows-1252 quoted-printable German: € is 0x80, „ 0x84 and “ 0x93 (C1 controls in ISO-8859-1)",
         subject=s, **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schäfer",
         text_contains=DE_SNIPPETS + ["89,90 €", "Der Button „Zur Kasse“ reagiert auch nicht."],
         text_excludes=["\u0080", "\u0084", "\u0093", "\ufffd"], language="de")

    # windows-1255 Hebrew with new sheqel sign, base64
    he = HE_INVOICE.replace("התשלום בוצע בכרטיס אשראי", "התשלום בסך 349 ₪ בוצע בכרטיס אשראי")
    s = "חשבונית להזמנה 48213"
    case("charset-windows-1255-he",
         mail("charset-windows-1255-he", "%s <dana.cohen@lakoach.test>" % b_word("דנה כהן", "windows-1255"),
              b_word(s, "windows-1255"), date(23, 15, 45, "+0200"),
              text_part(he, "windows-1255", "base64"),
              extra=[("X-Mailer", "Microsoft Outlook 16.0")]),
         description="windows-1255 base64 Hebrew (logical order); ₪ is 0xA4 (¤ in ISO-8859-8)",
         subject=s, **{"from": "dana.cohen@lakoach.test"}, from_name="דנה כהן",
         text_contains=["ועדיין לא קיבלתי חשבונית", "התשלום בסך 349 ₪ בוצע בכרטיס אשראי", "מספר ההזמנה הוא 48213."],
         text_excludes=["¤", "\ufffd"], language="he")

    # Alias labels
    case("charset-alias-latin2-hu",
         mail("charset-alias-latin2-hu", "%s <anna.kovacs@ugyfel.test>" % q_word("Kovács Anna", "latin2"),
              q_word("Számla hiányzik", "latin2") + " - 48213", date(23, 16, 0),
              text_part(HU_INVOICE, "latin2", "8bit")),
         description='Charset label alias "latin2" (ISO-8859-2) in the body, Subject and From name',
         subject="Számla hiányzik - 48213", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, text_excludes=["\ufffd", "õ", "û"], language="hu")

    case("charset-alias-l2-cs",
         mail("charset-alias-l2-cs", "%s <jan.novak@zakaznik.test>" % q_word("Jan Novák", "l2"),
              q_word("Přihlášení nefunguje", "l2"), date(23, 16, 5),
              text_part(CS_LOGIN, "l2", "quoted-printable")),
         description='Charset label alias "l2" (IANA alias of ISO-8859-2) in the body, Subject and From name',
         subject="Přihlášení nefunguje", **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novák",
         text_contains=CS_SNIPPETS, text_excludes=["\ufffd"], language="cs")

    case("charset-alias-cp1250-pl",
         mail("charset-alias-cp1250-pl", "%s <piotr.wisniewski@klient.test>" % q_word("Piotr Wiśniewski", "cp1250"),
              q_word("Błąd logowania do panelu", "cp1250"), date(23, 16, 10),
              text_part(PL_LOGIN, "cp1250", "quoted-printable")),
         description='Charset label "cp1250" (windows-1250) in the body, Subject and From name; ą and ś are 0xB9 and 0x9C',
         subject="Błąd logowania do panelu", **{"from": "piotr.wisniewski@klient.test"}, from_name="Piotr Wiśniewski",
         text_contains=PL_SNIPPETS, text_excludes=["\ufffd"], language="pl")

    case("charset-alias-iso_8859-2-hu",
         mail("charset-alias-iso_8859-2-hu", "%s <anna.kovacs@ugyfel.test>" % q_word("Kovács Anna", "iso8859-2"),
              q_word("Nem működik a számlaletöltés", "ISO_8859-2"), date(23, 16, 15),
              text_part(HU_INVOICE, "ISO_8859-2", "quoted-printable")),
         description='Charset labels "ISO_8859-2" (body, Subject) and "iso8859-2" (From name), both ISO-8859-2',
         subject="Nem működik a számlaletöltés", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, text_excludes=["\ufffd", "õ", "û"], language="hu")

    # Unknown labels
    case("charset-unknown-label-utf8",
         mail("charset-unknown-label-utf8", "Piotr Wisniewski <piotr.wisniewski@klient.test>",
              "Problem z logowaniem", date(23, 17, 0),
              text_part(PL_LOGIN, "x-unknown", "8bit", codec="utf-8")),
         description='Body labelled charset="x-unknown" but the bytes are valid UTF-8: the best guess (UTF-8) must give '
                     "readable Polish, and the message is flagged",
         subject="Problem z logowaniem", **{"from": "piotr.wisniewski@klient.test"}, from_name="Piotr Wisniewski",
         text_contains=PL_SNIPPETS, text_excludes=["\ufffd"], flags_include=["unknown_charset"], language="pl")

    case("charset-unknown-8bit-de",
         mail("charset-unknown-8bit-de", "Michael Schaefer <m.schaefer@kunde.test>",
              "Webshop laedt nicht", date(23, 17, 5),
              text_part(DE_SHOP.replace("89,90 EUR", "89,90 €"), "unknown-8bit", "8bit", codec="windows-1252")),
         description='Body labelled charset="unknown-8bit" (RFC 1428) holding windows-1252 bytes (not valid UTF-8). Only the '
                     "ASCII parts are asserted; a good best guess (windows-1252) would also give umlauts, ß and €",
         subject="Webshop laedt nicht", **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schaefer",
         text_contains=["Guten Tag,", "Browser-Cache geleert", "mit zwei verschiedenen"],
         flags_include=["unknown_charset"])


# --------------------------------------------------------------------------------------------
# 2. RFC 2047 / RFC 2231
# --------------------------------------------------------------------------------------------

def encoded_words():
    s = "Nelze se přihlásit – účet zablokován"
    case("rfc2047-q-and-b",
         mail("rfc2047-q-and-b", "%s <petr.dvorak@zakaznik.test>" % b_word("Petr Dvořák"), q_word(s), date(23, 9, 0),
              text_part(CS_LOGIN.replace("Jan Novák", "Petr Dvořák"), "utf-8", "quoted-printable")),
         description="Subject as a UTF-8 Q encoded word (with en dash), From name as a UTF-8 B encoded word",
         subject=s, **{"from": "petr.dvorak@zakaznik.test"}, from_name="Petr Dvořák",
         text_contains=CS_SNIPPETS, language="cs")

    subject = ("=?UTF-8?Q?Nem_m=C5=B1k=C3=B6dik_a_bel=C3=A9p=C3=A9s?=\r\n"
               " =?UTF-8?Q?_a_webshopban,?= pedig =?UTF-8?B?w7pqIGplbHN6w7N0?=\r\n"
               "\t=?UTF-8?B?IGvDqXJ0ZW0=?=")
    frm = "=?utf-8?B?S292w6Fjcw==?=\r\n =?utf-8?B?IEFubmE=?= <anna.kovacs@ugyfel.test>"
    case("rfc2047-split-across-lines",
         mail("rfc2047-split-across-lines", frm, subject, date(23, 9, 5),
              text_part(HU_INVOICE, "utf-8", "8bit")),
         description="Encoded words folded over several lines (CRLF SP and CRLF TAB): whitespace between adjacent encoded "
                     "words vanishes, whitespace next to the plain word 'pedig' stays; the spaces come from '_' and "
                     "encoded blanks. From name folded across two B words",
         subject="Nem működik a belépés a webshopban, pedig új jelszót kértem",
         **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna", text_contains=HU_SNIPPETS, language="hu")

    raw = "Előfizetés lemondása".encode("utf-8")
    cut = raw.index(b"\x91")  # between the two bytes of ő (C5 91)
    subject = b_word("", data=raw[:cut]) + "\r\n " + b_word("", data=raw[cut:])
    case("rfc2047-split-multibyte-char",
         mail("rfc2047-split-multibyte-char", from_hdr("hu"), subject, date(23, 9, 10),
              text_part(HU_INVOICE, "utf-8", "base64")),
         description="Two adjacent UTF-8 B encoded words that split the two bytes of ő between them (forbidden by RFC 2047 "
                     "section 5 but sent by some mailers): joining the octets of adjacent same-charset words before "
                     "decoding gives the text; decoding each word alone gives U+FFFD",
         subject="Előfizetés lemondása", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, language="hu")

    subject = "%s %s\r\n %s" % (q_word("Számla / ", "iso-8859-2"), b_word("חשבונית / ", "utf-8"),
                                q_word("Faktura č. 48213", "windows-1250"))
    case("rfc2047-mixed-charsets",
         mail("rfc2047-mixed-charsets", "%s <dana.cohen@lakoach.test>" % b_word("דנה כהן", "windows-1255"),
              subject, date(23, 9, 20, "+0200"),
              text_part(EN_INVOICE, "us-ascii", "7bit")),
         description="One Subject made of ISO-8859-2 Q, UTF-8 B (Hebrew) and windows-1250 Q encoded words; the whitespace "
                     "between them vanishes, the spaces inside them stay. From name in windows-1255 B",
         subject="Számla / חשבונית / Faktura č. 48213", **{"from": "dana.cohen@lakoach.test"}, from_name="דנה כהן",
         text_contains=EN_SNIPPETS, language="en")

    case("rfc2047-quoted-display-name",
         mail("rfc2047-quoted-display-name", '"=?utf-8?Q?Kov=C3=A1cs_Anna?=" <anna.kovacs@ugyfel.test>',
              q_word("Számla hiányzik"), date(23, 9, 25),
              text_part(HU_INVOICE, "utf-8", "quoted-printable"),
              to='"=?utf-8?Q?=C3=9Cgyf=C3=A9lszolg=C3=A1lat?=" <support@example.test>'),
         description="Encoded word inside a quoted display name (not allowed by RFC 2047, sent by many webmailers): "
                     "decoded anyway, quotes removed",
         subject="Számla hiányzik", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, language="hu")

    case("rfc2047-comma-in-display-name",
         mail("rfc2047-comma-in-display-name", "=?utf-8?Q?Nov=C3=A1k=2C_Jan?= <Jan.Novak@Zakaznik.test>",
              q_word("Faktura nejde stáhnout"), date(23, 9, 26),
              text_part(CS_LOGIN, "utf-8", "quoted-printable"),
              extra=[("X-Mailer", "Microsoft Outlook 16.0")]),
         description="Exchange-style 'Last, First' display name with the comma inside the encoded word (=2C): still one "
                     "address, the comma belongs to the name; address lower-cased",
         subject="Faktura nejde stáhnout", **{"from": "jan.novak@zakaznik.test"}, from_name="Novák, Jan",
         text_contains=CS_SNIPPETS, language="cs")

    case("rfc2047-missing-whitespace",
         mail("rfc2047-missing-whitespace", "=?utf-8?Q?Szab=C3=B3_P=C3=A9ter?=<peter.szabo@ugyfel.test>",
              "Re:=?utf-8?Q?Nem_t=C3=B6lt_be_a?==?utf-8?Q?_webshop?=", date(23, 9, 30),
              text_part(HU_INVOICE.replace("Kovács Anna", "Szabó Péter"), "utf-8", "8bit")),
         description="Encoded words glued to text ('Re:=?...') and to each other ('?==?') and a From name glued to '<': "
                     "decoded as if separated (what mail readers show). The parser separates the glued encoded word from 'Re:' by one space, as most readers show it",
         subject="Re: Nem tölt be a webshop", display_subject="Nem tölt be a webshop",
         **{"from": "peter.szabo@ugyfel.test"}, from_name="Szabó Péter", text_contains=HU_SNIPPETS, language="hu")

    case("rfc2047-lowercase-q",
         mail("rfc2047-lowercase-q", "=?UTF-8?b?S292w6FjcyBBbm5h?= <anna.kovacs@ugyfel.test>",
              q_word("Probléma a számlázással", "utf-8", q="q", hexcase="lower"), date(23, 9, 35),
              text_part(HU_INVOICE, "utf-8", "8bit")),
         description="Lower-case encoding letters (?q? and ?b?) and lower-case hex digits (=c3=a9) in encoded words",
         subject="Probléma a számlázással", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, language="hu")

    case("rfc2047-space-inside-encoded-word",
         mail("rfc2047-space-inside-encoded-word", "=?iso-8859-2?Q?Kov=E1cs Anna?= <anna.kovacs@ugyfel.test>",
              "=?iso-8859-2?Q?Sz=E1mla hi=E1nyzik a 48213-as rendel=E9shez?=", date(23, 9, 40),
              text_part(HU_INVOICE, "iso-8859-2", "quoted-printable"),
              extra=[("X-Mailer", "Microsoft Outlook Express 6.00.2900.5512")]),
         description="Encoded words with raw spaces inside (old Outlook/webmail bug): the whole =?...?= run is one "
                     "encoded word and the spaces are kept",
         subject="Számla hiányzik a 48213-as rendeléshez", **{"from": "anna.kovacs@ugyfel.test"},
         from_name="Kovács Anna", text_contains=HU_SNIPPETS, language="hu")

    long_subject = ("Reklamacja zamówienia nr 48213 – przesyłka dotarła uszkodzona, brakuje dwóch produktów, "
                    "a faktura zawiera błędny adres firmy i niepoprawny numer NIP")
    long_line = ("Opis problemu: " + " ".join(
        "Paczka numer %d dotarła z rozdartym kartonem i brakującą zawartością." % i for i in range(1, 18))
        + " Koniec bardzo długiej linii bez żadnego łamania.")
    assert len(long_line.encode()) > 1000
    body = long_line + "\n\n" + PL_PAYMENT
    case("rfc2047-overlong-line",
         mail("rfc2047-overlong-line", from_hdr("pl"), b_word(long_subject), date(23, 9, 45),
              text_part(body, "utf-8", "8bit")),
         description="Subject as one unfolded B encoded word of about 230 characters (over the 75 of RFC 2047 and the 78 "
                     "of RFC 5322), and a body line of over 1000 octets (over the 998 limit)",
         subject=long_subject, **{"from": "piotr.wisniewski@klient.test"}, from_name="Piotr Wiśniewski",
         text_contains=["Paczka numer 1 dotarła z rozdartym kartonem",
                        "Koniec bardzo długiej linii bez żadnego łamania."] + PL_PAYMENT_SNIPPETS,
         language="pl")


def rfc2231():
    pdf = fake_pdf("Szamla 2026")
    pdf2 = fake_pdf("Szallitolevel 48213")
    body = multipart("mixed", [
        text_part(HU_INVOICE.replace("még mindig nem kaptam meg a számlát", "csatolom a hibás számlát"), "utf-8", "8bit"),
        binary_part(pdf, "application/pdf", "attachment;\r\n filename*=utf-8''sz%C3%A1mla%202026.pdf"),
        binary_part(pdf2, "application/pdf", "attachment;\r\n filename*=UTF-8'hu'sz%C3%A1ll%C3%ADt%C3%B3lev%C3%A9l.pdf"),
    ], "------------9F0E1D2C3B4A59687766")
    case("rfc2231-filename-utf8",
         mail("rfc2231-filename-utf8", from_hdr("hu"), q_word("Hibás számla"), date(23, 10, 0), body,
              extra=[("User-Agent", "Mozilla Thunderbird")]),
         description="RFC 2231 extended filename*=utf-8''... with %-encoded UTF-8 and space, one with a language tag "
                     "(UTF-8'hu'...); no plain filename fallback",
         subject="Hibás számla", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=["csatolom a hibás számlát", "Előre is köszönöm a segítségüket."],
         attachments=[att("számla 2026.pdf", "application/pdf", pdf),
                      att("szállítólevél.pdf", "application/pdf", pdf2)],
         language="hu")

    pdf = fake_pdf("Faktura 2026-0042 oprava")
    body = multipart("mixed", [
        text_part(CS_LOGIN.replace("Potřebuji ještě dnes stáhnout fakturu.",
                                   "V příloze posílám opravenou fakturu."), "utf-8", "quoted-printable"),
        binary_part(pdf,
                    "application/pdf;\r\n name*0*=utf-8''Faktura%20%C4%8D.%202026-0042%20;\r\n"
                    " name*1*=%E2%80%93%20oprava%20;\r\n name*2=\"adresy.pdf\"",
                    "attachment;\r\n filename*0*=utf-8''Faktura%20%C4%8D.%202026-0042%20;\r\n"
                    " filename*1*=%E2%80%93%20oprava%20;\r\n filename*2=\"adresy.pdf\""),
    ], "------------A1B2C3D4E5F60718293A4B5C")
    case("rfc2231-filename-continuation",
         mail("rfc2231-filename-continuation", from_hdr("cs"), q_word("Opravená faktura"), date(23, 10, 5), body),
         description="RFC 2231 continuations: filename*0*= (charset, %-encoded), filename*1*= (%-encoded) and filename*2= "
                     "(plain quoted) concatenated in order; same for the Content-Type name",
         subject="Opravená faktura", **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novák",
         text_contains=["V příloze posílám opravenou fakturu."],
         attachments=[att("Faktura č. 2026-0042 – oprava adresy.pdf", "application/pdf", pdf)], language="cs")

    pdf = fake_pdf("Priloha c. 2")
    body = multipart("mixed", [
        text_part(CS_LOGIN.replace("Potřebuji ještě dnes stáhnout fakturu.", "Posílám přílohu číslo dvě."),
                  "utf-8", "8bit"),
        binary_part(pdf, "application/pdf",
                    "attachment;\r\n filename*0*=utf-8''P%C5%99%C3;\r\n filename*1*=%ADloha%20%C4%8D.%202.pdf"),
    ], "=_split_utf8_2231")
    case("rfc2231-continuation-split-utf8",
         mail("rfc2231-continuation-split-utf8", from_hdr("cs"), "Priloha c. 2", date(23, 10, 6), body),
         description="RFC 2231 continuation that splits the UTF-8 bytes of í (C3 AD) between filename*0* and filename*1*: "
                     "the %-decoded octets of all sections are joined before the charset is applied",
         subject="Priloha c. 2", **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novák",
         text_contains=["Posílám přílohu číslo dvě."],
         attachments=[att("Příloha č. 2.pdf", "application/pdf", pdf)], language="cs")

    pdf = fake_pdf("Szamla hianyzo tetelekkel")
    name = "=?iso-8859-2?Q?sz=E1mla_hi=E1nyz=F3_t=E9telekkel.pdf?="
    body = multipart("mixed", [
        text_part(HU_INVOICE.replace("még mindig nem kaptam meg a számlát", "hiányos számlát kaptam"),
                  "iso-8859-2", "quoted-printable"),
        binary_part(pdf, 'application/pdf;\r\n\tname="%s"' % name, 'attachment;\r\n\tfilename="%s"' % name),
    ], "----=_NextPart_000_0012_01DB3D2A.5F7E1C20")
    case("attachment-name-rfc2047-outlook",
         mail("attachment-name-rfc2047-outlook", from_hdr("hu", "iso-8859-2"), q_word("Hiányos számla", "iso-8859-2"),
              date(23, 10, 10), body, extra=[("X-Mailer", "Microsoft Outlook 14.0")]),
         description='Old Outlook style: RFC 2047 encoded word inside the quoted name="..." and filename="..." parameters '
                     "(not allowed by RFC 2047, universal in practice)",
         subject="Hiányos számla", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=["hiányos számlát kaptam"],
         attachments=[att("számla hiányzó tételekkel.pdf", "application/pdf", pdf)], language="hu")

    pdf = fake_pdf("Reklamacja 48213")
    fname = "Reklamacja – uszkodzona przesyłka nr 48213 – zdjęcia i protokół szkody.pdf"
    folded = words(fname, "UTF-8", mode="B", limit=60, sep="\r\n ")
    assert folded.count("=?UTF-8?B?") >= 2
    body = multipart("mixed", [
        text_part(PL_PAYMENT.replace("Czy mogę zapłacić przelewem tradycyjnym?", "W załączniku protokół szkody."),
                  "UTF-8", "quoted-printable"),
        binary_part(pdf, 'application/pdf;\r\n name="%s"' % folded, 'attachment;\r\n filename="%s"' % folded),
    ], "_004_AM0PR01MB1234567890ABCD_")
    case("attachment-name-rfc2047-folded",
         mail("attachment-name-rfc2047-folded", "=?UTF-8?Q?Pawe=C5=82_W=C3=B3jcik?= <pawel.wojcik@klient.test>",
              q_word("Reklamacja przesyłki 48213"), date(23, 10, 15), body,
              extra=[("X-Mailer", "Microsoft Outlook 16.0")]),
         description="Long attachment name as several UTF-8 B encoded words inside one quoted parameter, folded over "
                     "lines: the words join without the folding whitespace",
         subject="Reklamacja przesyłki 48213", **{"from": "pawel.wojcik@klient.test"}, from_name="Paweł Wójcik",
         text_contains=["W załączniku protokół szkody."], attachments=[att(fname, "application/pdf", pdf)],
         language="pl")


# --------------------------------------------------------------------------------------------
# 3. 8-bit headers
# --------------------------------------------------------------------------------------------

def eight_bit_headers():
    s = "Nie mogę zapłacić kartą – błąd płatności"
    raw = head([("From", "Paweł Wójcik <pawel.wojcik@klient.test>".encode("utf-8")), ("To", SUPPORT),
                ("Subject", s.encode("utf-8")), ("Date", date(23, 11, 0)),
                ("Message-ID", "<header-8bit-utf8@mail.customer.test>"), ("MIME-Version", "1.0")])
    raw += text_part(PL_PAYMENT, "utf-8", "8bit").bytes()
    case("header-8bit-utf8", raw,
         description="Raw UTF-8 bytes in Subject and From display name, no encoded words (RFC 6532 style)",
         subject=s, **{"from": "pawel.wojcik@klient.test"}, from_name="Paweł Wójcik",
         text_contains=PL_PAYMENT_SNIPPETS, language="pl")

    s = "Hiányzó számla, sürgős kérés"
    raw = head([("From", "Kovács Anna <anna.kovacs@ugyfel.test>".encode("iso-8859-2")), ("To", SUPPORT),
                ("Subject", s.encode("iso-8859-2")), ("Date", date(23, 11, 5)),
                ("Message-ID", "<header-8bit-latin2@mail.customer.test>"), ("MIME-Version", "1.0")])
    raw += text_part(HU_INVOICE, "iso-8859-2", "8bit").bytes()
    case("header-8bit-latin2", raw,
         description="Raw ISO-8859-2 bytes in Subject and From name (not valid UTF-8). The expectation is the Latin-2 "
                     "reading, which a decoder gets by trying UTF-8 first and then the charset of the body "
                     "(iso-8859-2 here). Minimum: á é ü must not become U+FFFD; ő (0xF5) is what tells Latin-2 from "
                     "Latin-1 (õ)",
         subject=s, **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, language="hu")


# --------------------------------------------------------------------------------------------
# 4. Transfer encodings with errors
# --------------------------------------------------------------------------------------------

def transfer_encodings():
    body = (
        b"Tisztelt =c3=9cgyf=c3=a9lszolg=c3=a1lat!\r\n"
        b"\r\n"
        b"A webshopban a kos=c3=a1r oldal m=c3=a1r h=c3=a1rom napja nem t=c3=b6lt=c5=\r\n"
        b"=91dik be rendesen, a fizet=C3=A9s gomb megnyom=c3=a1sa ut=c3=a1n csak egy =\r\n"
        b"=c3=bcres oldal jelenik meg. Pr=c3=b3b=c3=a1ltam Chrome-mal =C3=A9s Firefo=\r\n"
        b"xszal is, de mindk=c3=a9t b=c3=b6ng=c3=a9sz=c5=91ben ugyanez t=c3=b6rt=c3=a9nik.\r\n"
        b"K=c3=a9rem, n=c3=a9zz=c3=a9k meg, mi lehet a hiba, mert szeretn=c3=a9m m=c3=a9=\r\n"
        b"g ma leadni a rendel=c3=a9st.\r\n"
        b"\r\n"
        b"=c3=9cdv=c3=b6zlettel:\r\n"
        b"Kov=c3=a1cs Anna=\r\n"
    )
    part = Part([("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "quoted-printable")], body)
    case("qp-soft-breaks-lowercase-hex",
         mail("qp-soft-breaks-lowercase-hex", from_hdr("hu"), q_word("Nem töltődik be a kosár"), date(23, 12, 0), part),
         description="Quoted-printable with lower-case hex (=c3=a1, not allowed but common), soft line breaks inside a "
                     "word and between the two bytes of ő (=C5=\\r\\n=91), and a soft break '=\\r\\n' at the very end",
         subject="Nem töltődik be a kosár", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=["nem töltődik be rendesen", "csak egy üres oldal jelenik meg", "Chrome-mal és Firefoxszal is",
                        "mindkét böngészőben ugyanez történik", "szeretném még ma leadni a rendelést",
                        "Üdvözlettel:", "Kovács Anna"],
         text_excludes=["=c3", "=C3", "=c5", "=91", "\ufffd"], language="hu")

    body = (
        b"Guten Tag,\r\n"
        b"\r\n"
        b"der Warenkorb zeigt einen falschen Betrag an. Gesamtpreis = 49,90 EUR laut Shop,=\r\n"
        b" abgebucht wurden aber 59,90 EUR.\r\n"
        b"Der Gutscheincode lautete WINTER=XY und wurde angeblich angenommen.\r\n"
        b"Bitte pr=FCfen Sie die Buchung und erstatten Sie mir die Differenz von 10 EUR.=\r\n"
        b"\r\n"
        b"Mit freundlichen Gr=FC=DFen\r\n"
        b"Michael Sch=E4fer\r\n"
        b"="
    )
    part = Part([("Content-Type", "text/plain; charset=ISO-8859-1"), ("Content-Transfer-Encoding", "quoted-printable")],
                body)
    case("qp-stray-equals",
         mail("qp-stray-equals", "%s <m.schaefer@kunde.test>" % q_word("Michael Schäfer", "iso-8859-1"),
              "Falscher Betrag abgebucht", date(23, 12, 5), part),
         description="Quoted-printable with '=' not followed by two hex digits ('= 4', '=XY'): kept literally as RFC 2045 "
                     "6.7 advises; a soft break before an empty line; a lone '=' as the last byte of the message",
         subject="Falscher Betrag abgebucht", **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schäfer",
         text_contains=["Gesamtpreis = 49,90 EUR laut Shop, abgebucht wurden aber 59,90 EUR.",
                        "Der Gutscheincode lautete WINTER=XY und wurde angeblich angenommen.",
                        "Bitte prüfen Sie die Buchung", "Mit freundlichen Grüßen", "Michael Schäfer"],
         text_excludes=["=FC", "\ufffd"], language="de")

    text = enc(PL_LOGIN, "utf-8")
    pdf, pad = fake_pdf("Faktura pazdziernik"), 1
    while len(pdf) % 3 != 1:  # so that the full encoding would end in "=="
        pdf = fake_pdf("Faktura pazdziernik", pad=pad)
        pad += 1
    if len(text) % 3 == 0:
        text += b"\r\n"

    def nopad(data):
        return b64(data).replace(b"=", b"")

    assert base64.b64encode(text).endswith(b"=") and base64.b64encode(pdf).endswith(b"==")
    body = multipart("mixed", [
        Part([("Content-Type", "text/plain; charset=UTF-8"), ("Content-Transfer-Encoding", "base64")], nopad(text)),
        Part([("Content-Type", 'application/pdf; name="faktura-10-2026.pdf"'), ("Content-Transfer-Encoding", "base64"),
              ("Content-Disposition", 'attachment; filename="faktura-10-2026.pdf"')], nopad(pdf)),
    ], "b1_nopad")
    case("base64-missing-padding",
         mail("base64-missing-padding", from_hdr("pl"), q_word("Faktura za październik"), date(23, 12, 10), body),
         description="Base64 without the trailing '=' padding, in the text body and in a PDF attachment: decoded "
                     "completely anyway (the attachment size is exact)",
         subject="Faktura za październik", **{"from": "piotr.wisniewski@klient.test"}, from_name="Piotr Wiśniewski",
         text_contains=PL_SNIPPETS, text_excludes=["\ufffd"],
         attachments=[att("faktura-10-2026.pdf", "application/pdf", pdf)], language="pl")

    s = base64.b64encode(enc(CS_LOGIN, "utf-8")).decode()
    widths = [13, 50, 77, 3, 1, 64, 30, 76, 7, 40]
    lines, i, k = [], 0, 0
    while i < len(s):
        w = widths[k % len(widths)]
        lines.append(s[i:i + w] + ("  " if k % 4 == 1 else ""))  # trailing blanks on some lines
        i += w
        k += 1
    body = Part([("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "Base64")],
                ("\r\n".join(lines) + "\r\n\r\n").encode())
    case("base64-odd-line-breaks",
         mail("base64-odd-line-breaks", from_hdr("cs"), q_word("Přihlášení nefunguje"), date(23, 12, 15), body),
         description="Base64 body with line breaks inside 4-character groups (lines of 13, 50, 77, 3, 1 ... characters), "
                     "trailing blanks on some lines, a blank line at the end, and 'Base64' capitalised",
         subject="Přihlášení nefunguje", **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novák",
         text_contains=CS_SNIPPETS, text_excludes=["\ufffd"], language="cs")

    s = b64(enc(HE_INVOICE, "utf-8")).decode()
    s = s[:151] + "!" + s[151:]  # 2nd line (starts at 78), offset 73: inside a 4-character group
    s = s[:30] + "*" + s[30:]    # 1st line, offset 30: inside a group
    assert s[30] == "*" and s[152] == "!" and s[77:79] == "\r\n" and s[79:152].find("\r") < 0
    body = Part([("Content-Type", "text/plain; charset=UTF-8"), ("Content-Transfer-Encoding", "base64")], s.encode())
    case("base64-invalid-char",
         mail("base64-invalid-char", "%s <dana.cohen@lakoach.test>" % b_word("דנה כהן"), b_word("חשבונית לא התקבלה"),
              date(23, 12, 20, "+0200"), body),
         description="Base64 body with characters outside the alphabet ('*' and '!') in the middle of 4-character groups: "
                     "RFC 2045 says to ignore them, so the whole text decodes",
         subject="חשבונית לא התקבלה", **{"from": "dana.cohen@lakoach.test"}, from_name="דנה כהן",
         text_contains=HE_SNIPPETS, text_excludes=["\ufffd"], language="he")


# --------------------------------------------------------------------------------------------
# 5. Plain text vs HTML
# --------------------------------------------------------------------------------------------

HTML_HEAD = """\
<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=%s">
<style type="text/css">body { font-family: Arial, sans-serif; color: #333333; } p { margin: 0 0 8px 0; }</style>
</head><body>
"""


def html_paragraphs(text):
    paras = [p for p in text.strip().split("\n\n")]
    return "\n".join("<p>%s</p>" % p.replace("\n", "<br>\n") for p in paras)


def text_vs_html():
    plain = DE_SHOP + "\nKundennummer: K-55102 (Textteil)\n"
    html = (HTML_HEAD % "utf-8") + html_paragraphs(DE_SHOP) + \
        "\n<p>Kundennummer: K-55102 (HTML-Teil)</p>\n</body></html>\n"
    body = multipart("alternative", [text_part(plain, "utf-8", "quoted-printable"),
                                     text_part(html, "utf-8", "quoted-printable", subtype="html")],
                     "000000000000a1b2c305f1e2d3c4")
    case("alternative-prefer-plain-de",
         mail("alternative-prefer-plain-de", "Michael =?UTF-8?Q?Sch=C3=A4fer?= <m.schaefer@kunde.test>",
              "Webshop reagiert nicht", date(23, 13, 0), body),
         description="multipart/alternative, text/plain then text/html: the plain part is the text. A marker only in the "
                     "plain part must appear, one only in the HTML part must not; no part is an attachment. From name "
                     "mixes a plain word and an encoded word",
         subject="Webshop reagiert nicht", **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schäfer",
         text_contains=DE_SNIPPETS + ["Kundennummer: K-55102 (Textteil)"],
         text_excludes=["(HTML-Teil)", "<p>", "font-family"], attachments=[], language="de")

    plain = CS_LOGIN + "\nČíslo zákazníka: 77310 (prostý text)\n"
    html = (HTML_HEAD % "utf-8") + html_paragraphs(CS_LOGIN) + \
        "\n<p>Číslo zákazníka: 77310 (verze HTML)</p>\n</body></html>\n"
    body = multipart("alternative", [text_part(html, "utf-8", "base64", subtype="html"),
                                     text_part(plain, "utf-8", "base64")],
                     "=_alt_html_first")
    case("alternative-html-first-cs",
         mail("alternative-html-first-cs", from_hdr("cs"), q_word("Nejde se přihlásit"), date(23, 13, 5), body),
         description="multipart/alternative with the parts in the unusual order text/html, text/plain: the plain part is "
                     "still the one taken",
         subject="Nejde se přihlásit", **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novák",
         text_contains=CS_SNIPPETS + ["Číslo zákazníka: 77310 (prostý text)"],
         text_excludes=["(verze HTML)", "<p>", "font-family"], attachments=[], language="cs")

    html = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>Ticket form - page title not meant for readers</title>
<style type="text/css">
  body { font-family: "Segoe UI", Arial, sans-serif; color: #222; }
  .hidden-preheader { display: none; }
</style>
<script type="text/javascript">var trackingPixelId = "tp-99812"; window.alert("tracking script");</script>
</head>
<body>
<p>Dear support team,</p>
<p>since this morning the checkout page of your webshop does not load for me.
After I press the &quot;Pay now&quot; button the page stays white and nothing happens.</p>
<p>My setup:</p>
<ul>
<li>Browser: Firefox 128 on Windows 11</li>
<li>Cart total: 149.90&nbsp;EUR</li>
<li>Order reference: WEB-48213</li>
</ul>
<p>You can see the error page <a href="https://example.test/x">here</a>.</p>
<script>document.write("second script block");</script>
<p>Best regards,<br>
Anna Smith<br>
M&uuml;ller &amp; S&ouml;hne GmbH</p>
</body>
</html>
"""
    body = text_part(html, "utf-8", "quoted-printable", subtype="html")
    case("html-only-en",
         mail("html-only-en", "Anna Smith <anna.smith@customer.test>", "Checkout page does not load", date(23, 13, 10),
              body),
         description="HTML-only mail (no text/plain): the text keeps paragraphs, list items and the link URL, decodes "
                     "entities (&quot; &nbsp; &uuml; &amp;), and drops tags, the <head> (title, CSS) and all script text",
         subject="Checkout page does not load", **{"from": "anna.smith@customer.test"}, from_name="Anna Smith",
         text_contains=["Dear support team,", "since this morning the checkout page of your webshop does not load",
                        'After I press the "Pay now" button', "Browser: Firefox 128 on Windows 11",
                        "Order reference: WEB-48213", "https://example.test/x", "Müller & Söhne GmbH"],
         text_excludes=["<p", "<li", "<ul", "<a ", "</", "<br", "<!DOCTYPE", "font-family", "display: none",
                        "trackingPixelId", "tracking script", "second script block", "page title not meant for readers",
                        "&amp;", "&nbsp;", "&quot;"],
         attachments=[], language="en")

    word_html = """\
<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv=Content-Type content="text/html; charset=windows-1250"><meta name=Generator content="Microsoft Word 15 (filtered medium)">
<!--[if gte mso 9]><xml>
<o:OfficeDocumentSettings><o:AllowPNG/></o:OfficeDocumentSettings>
</xml><![endif]-->
<style><!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
	{font-family:Calibri;
	panose-1:2 15 5 2 2 2 4 3 2 4;}
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0cm;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;
	mso-fareast-language:EN-US;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]-->
</head>
<body lang=CS link="#0563C1" vlink="#954F72" style='word-wrap:break-word'>
<div class=WordSection1>
<p class=MsoNormal>Dobrý den,<o:p></o:p></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal>při placení kartou se mi v košíku zobrazí chyba a platba neproběhne.<o:p></o:p></p>
<p class=MsoNormal>Zkoušel jsem to třikrát, ať už s kartou Visa nebo Mastercard, a pokaždé stejně.<o:p></o:p></p>
<p class=MsoNormal>Peníze mi z účtu nestrhli, ale objednávka zůstala ve stavu „čeká na platbu“.<o:p></o:p></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal>S pozdravem<o:p></o:p></p>
<p class=MsoNormal>Tomáš Černý<o:p></o:p></p>
</div>
</body>
</html>
"""
    body = text_part(word_html, "windows-1250", "quoted-printable", subtype="html")
    case("html-only-outlook-word-cs",
         mail("html-only-outlook-word-cs", "%s <tomas.cerny@zakaznik.test>" % q_word("Tomáš Černý", "windows-1250"),
              q_word("Platba kartou neprojde", "windows-1250"), date(23, 13, 15), body,
              extra=[("X-Mailer", "Microsoft Outlook 16.0"), ("Thread-Index", "AdsdKl9+HCAAbCdEfGhIjKlMnOpQrA==")]),
         description="HTML-only Outlook/Word mail in windows-1250 quoted-printable: conditional comments with <xml>, "
                     "mso CSS, <o:p> tags, unquoted attributes, „“ quotes (0x84/0x93) and ť/š/Č from windows-1250",
         subject="Platba kartou neprojde", **{"from": "tomas.cerny@zakaznik.test"}, from_name="Tomáš Černý",
         text_contains=["Dobrý den,", "při placení kartou se mi v košíku zobrazí chyba a platba neproběhne.",
                        "ať už s kartou Visa nebo Mastercard", "„čeká na platbu“", "Tomáš Černý"],
         text_excludes=["MsoNormal", "mso-", "@font-face", "Cambria Math", "panose", "OfficeDocumentSettings",
                        "shapedefaults", "<o:p>", "[if gte mso 9]", "</", "\ufffd"],
         attachments=[], language="cs")


# --------------------------------------------------------------------------------------------
# 6. Replies
# --------------------------------------------------------------------------------------------

OUTLOOK_BLOCK = {
    "en": "From: Example Shop Support <support@example.test>\nSent: Monday, November 23, 2026 9:14 AM\n"
          "To: Anna Smith <anna.smith@customer.test>\nSubject: FW: Invoice for order 48213 missing\n",
    "de": "Von: Example Shop Support <support@example.test>\nGesendet: Montag, 23. November 2026 09:14\n"
          "An: Michael Schäfer <m.schaefer@kunde.test>\nBetreff: WG: Rechnung zur Bestellung 48213 fehlt\n",
    "hu": "Feladó: Ügyfélszolgálat <support@example.test>\nElküldve: 2026. november 23., hétfő 9:14\n"
          "Címzett: Kovács Anna <anna.kovacs@ugyfel.test>\nTárgy: Továbbítás: Nem érkezett meg a számla\n",
    "cs": "Od: Zákaznická podpora <support@example.test>\nOdesláno: pondělí 23. listopadu 2026 9:14\n"
          "Komu: Jan Novák <jan.novak@zakaznik.test>\nPředmět: Nefunguje přihlášení do e-shopu\n",
    "pl": "Od: Dział Obsługi Klienta <support@example.test>\nWysłano: poniedziałek, 23 listopada 2026 09:14\n"
          "Do: Piotr Wiśniewski <piotr.wisniewski@klient.test>\nTemat: PD: Nie mogę się zalogować do panelu klienta\n",
    "he": "מאת: צוות התמיכה <support@example.test>\nנשלח: יום שני 23 נובמבר 2026 09:14\n"
          "אל: דנה כהן <dana.cohen@lakoach.test>\nנושא: הועבר: לא קיבלתי חשבונית\n",
}
OUTLOOK_SENT_LINE = {
    "en": "Sent: Monday, November 23, 2026 9:14 AM", "de": "Gesendet: Montag, 23. November 2026 09:14",
    "hu": "Elküldve: 2026. november 23., hétfő 9:14", "cs": "Odesláno: pondělí 23. listopadu 2026 9:14",
    "pl": "Wysłano: poniedziałek, 23 listopada 2026 09:14", "he": "נשלח: יום שני 23 נובמבר 2026 09:14",
}
OUTLOOK_SUBJECT = {
    "en": "RE: FW: Invoice for order 48213 missing",
    "de": "AW: WG: Rechnung zur Bestellung 48213 fehlt",
    "hu": "Vá: Továbbítás: Nem érkezett meg a számla",
    "cs": "Odp: Nefunguje přihlášení do e-shopu",
    "pl": "Odp: PD: Nie mogę się zalogować do panelu klienta",
    "he": "השב: הועבר: לא קיבלתי חשבונית",
}


def strip_prefixes(s):
    return re.sub(r"^((Re|RE|AW|Fwd|FW|VS|SV|Vá|Továbbítás|Odp|PD|RV|TR|Antw|WG|השב|הועבר|תשובה) ?:\s*)+", "", s)


def reply_case(name, lang, subject, text, *, description, charset="utf-8", cte="quoted-printable",
               html=None, extra_excludes=(), mailer=None, day=24, extra_fields=(), body_part=None, mime="1.0"):
    a, b, old_snip = REPLY_SNIPPETS[lang]
    if body_part is None:
        part = text_part(text, charset, cte)
        if html is not None:
            boundary = ("000000000000%012x" % (hash_int(name) % 16 ** 12) if "gmail" in name
                        else "_000_%s_" % name.replace("-", "").upper())
            part = multipart("alternative", [part, text_part(html, charset, cte, subtype="html")], boundary,
                             preamble="gmail" not in name)
    else:
        part = body_part
    name_, addr = CUSTOMER[lang]
    extra = [("In-Reply-To", "<ack-48213@example.test>"), ("References", "<ack-48213@example.test>")]
    extra += list(extra_fields)
    if mailer:
        extra.append(mailer)
    display = strip_prefixes(subject)
    assert display != subject
    case(name,
         mail(name, from_hdr(lang), subj(subject), date(day, 8, 30, TZ[lang]), part, extra=extra, mime=mime),
         description=description, subject=subject, display_subject=display, **{"from": addr}, from_name=name_,
         text_contains=[a, b, old_snip], new_part_contains=[a, b],
         new_part_excludes=[old_snip] + list(extra_excludes), language=lang)


def outlook_html(lang, new, old, block):
    def paras(t):
        return "\n".join('<p class="MsoNormal">%s</p>' % l if l else '<p class="MsoNormal">&nbsp;</p>'
                         for l in t.strip().split("\n"))
    rtl = ' dir="rtl"' if lang == "he" else ""
    hdr = "<br>\n".join("<b>%s</b>%s" % (l.split(":", 1)[0] + ":", l.split(":", 1)[1].replace("<", "&lt;").replace(">", "&gt;"))
                        for l in block.strip().split("\n"))
    return ("<html><head><style>p.MsoNormal{margin:0cm;font-family:Calibri,sans-serif}</style></head>\n"
            "<body%s><div class=\"WordSection1\">\n%s\n<div id=\"divRplyFwdMsg\"><hr>\n<p class=\"MsoNormal\">%s</p>\n</div>\n"
            "<div>%s</div></div></body></html>\n" % (rtl, paras(new), hdr, paras(old)))


def replies():
    for lang in ["en", "de", "hu", "cs", "pl", "he"]:
        new, old = REPLY[lang]
        sep = "________________________________\n" if lang in ("pl", "he") else ""
        text = new + "\n" + sep + OUTLOOK_BLOCK[lang] + "\n" + old
        html = outlook_html(lang, new, old, OUTLOOK_BLOCK[lang]) if lang in ("en", "de", "he") else None
        labels = OUTLOOK_BLOCK[lang].split("\n")[0].split(":")[0]
        reply_case("reply-outlook-" + lang, lang, OUTLOOK_SUBJECT[lang], text,
                   description="Outlook reply (%s): new text on top, then the localized header block (%s ...)%s and the "
                               "quoted message below it, unindented%s"
                               % (lang, labels, " after an OWA '____' line" if sep else "",
                                  "; multipart/alternative, the plain part is used" if html else ""),
                   html=html, extra_excludes=[OUTLOOK_SENT_LINE[lang]],
                   mailer=("X-Mailer", "Microsoft Outlook 16.0"),
                   extra_fields=[("Thread-Index", "AQHbXk1oZmFrZXRocmVhZGluZGV4")])

    new, old = REPLY["en"]
    text = (new + "\n-----Original Message-----\nFrom: Example Shop Support [mailto:support@example.test]\n"
            "Sent: Monday, November 23, 2026 9:14 AM\nTo: Anna Smith\nSubject: Invoice for order 48213 missing\n\n" + old)
    reply_case("reply-outlook-original-message-en", "en", "RV: TR: Invoice for order 48213 missing", text,
               description="Outlook plain-text reply with the '-----Original Message-----' separator and [mailto:] "
                           "header block; Subject prefixes RV: (Spanish) and TR: (French) stacked",
               cte="7bit", charset="us-ascii", extra_excludes=["-----Original Message-----", "[mailto:support@example.test]"],
               mailer=("X-Mailer", "Microsoft Office Outlook 12.0"))

    new, old = REPLY["de"]
    text = (new + "\n-----Ursprüngliche Nachricht-----\nVon: Example Shop Support [mailto:support@example.test] \n"
            "Gesendet: Montag, 23. November 2026 09:14\nAn: Michael Schäfer\nBetreff: Rechnung zur Bestellung 48213 fehlt\n\n"
            + old)
    reply_case("reply-outlook-original-message-de", "de", "Antw: WG: Rechnung zur Bestellung 48213 fehlt", text,
               description="German Outlook plain-text reply with the '-----Ursprüngliche Nachricht-----' separator; Subject "
                           "prefixes Antw: and WG: stacked",
               charset="iso-8859-1", extra_excludes=["-----Ursprüngliche Nachricht-----", "Gesendet: Montag"],
               mailer=("X-Mailer", "Microsoft Office Outlook 12.0"))

    # Gmail
    attributions = {
        "en": "On Mon, 23 Nov 2026 at 09:14, Example Shop Support <support@example.test> wrote:",
        "hu": "2026. nov. 23., H 9:14 Ügyfélszolgálat <support@example.test> ezt írta:",
        "de": "Am Mo., 23. Nov. 2026 um 09:14 Uhr schrieb Support <support@example.test>:",
        "cs": "po 23. 11. 2026 v 9:14 odesílatel Podpora <support@example.test> napsal:",
        "pl": "pon., 23 lis 2026 o 09:14 Obsługa Klienta <support@example.test> napisał(a):",
        "he": "\u202bבתאריך יום ב׳, 23 בנוב׳ 2026 ב-9:14 מאת צוות התמיכה <\u202asupport@example.test\u202c>\u202c:",
    }
    attribution_snippet = {
        "en": "wrote:", "hu": "ezt írta:", "de": "Uhr schrieb Support", "cs": "odesílatel Podpora",
        "pl": "napisał(a):", "he": "בתאריך יום ב׳",
    }
    gmail_subject = {
        "en": "Re: AW: Fwd: Invoice for order 48213 missing",
        "hu": "Re: Vá: Nem érkezett meg a számla",
        "de": "AW: Re: Webshop lädt nicht",
        "cs": "Re: Odp: Nefunguje přihlášení",
        "pl": "Odp: Re: Problem z logowaniem",
        "he": "תשובה: לא קיבלתי חשבונית",
    }
    for lang in ["en", "hu", "de", "cs", "pl", "he"]:
        new, old = REPLY[lang]
        quoted = "\n".join(("> " + l) if l else ">" for l in old.rstrip("\n").split("\n")) + "\n"
        text = new + "\n" + attributions[lang] + "\n\n" + quoted
        html = None
        if lang in ("en", "he"):
            d = ' dir="rtl"' if lang == "he" else ' dir="ltr"'
            html = ('<div%s>%s</div><br><div class="gmail_quote"><div%s class="gmail_attr">%s<br></div>'
                    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
                    'rgb(204,204,204);padding-left:1ex">%s</blockquote></div>\n'
                    % (d, new.strip().replace("\n", "<br>"), d,
                       attributions[lang].replace("<", "&lt;").replace(">", "&gt;"),
                       old.strip().replace("\n", "<br>")))
        reply_case("reply-gmail-" + lang, lang, gmail_subject[lang], text,
                   description="Gmail reply (%s): new text, the localized attribution line '%s', then '> ' quoted "
                               "history%s" % (lang, attributions[lang],
                                              "; multipart/alternative with gmail_quote HTML, the plain part is used"
                                              if html else ""),
                   cte="base64" if lang == "he" else "quoted-printable", html=html,
                   extra_excludes=[attribution_snippet[lang]])

    new, old = REPLY["en"]
    new = new.replace("Hi,", "Hello again,")
    quoted = "> On 23 Nov 2026, at 09:14, Example Shop Support <support@example.test> wrote:\n> \n" + \
        "\n".join(("> " + l) if l else "> " for l in old.rstrip("\n").split("\n")) + "\n"
    reply_case("reply-apple-mail-en", "en", "VS: SV: Invoice for order 48213 missing", new + "\n" + quoted,
               description="Apple Mail reply: 'On 23 Nov 2026, at 09:14, ... wrote:' (itself quoted with '> ') and the "
                           "history quoted with '> '; MIME-Version carries a comment; Subject prefixes VS: and SV: "
                           "(Nordic) stacked",
               cte="quoted-printable", extra_excludes=["at 09:14, Example Shop Support"],
               mailer=("X-Mailer", "Apple Mail (2.3774.600.62)"), mime="1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))")

    # plain "> " quoting without attribution, nested
    text = """\
Hallo,

leider ist das Paket bis heute nicht angekommen. Laut Sendungsverfolgung liegt es seit
Freitag im Verteilzentrum in Köln. Können Sie bitte beim Versanddienstleister nachfragen?
Ich brauche die Ware dringend für ein Geschenk.

Gruß
Michael

> Sehr geehrter Herr Schäfer,
>
> Ihr Paket wurde am Donnerstag an den Versanddienstleister übergeben.
> Die Zustellung erfolgt in der Regel innerhalb von zwei Werktagen.
>
> Mit freundlichen Grüßen
> Ihr Support-Team
>
>> Hallo, wo bleibt meine Bestellung 48213? Sie ist seit einer Woche unterwegs.
"""
    case("reply-plain-quote-de",
         mail("reply-plain-quote-de", from_hdr("de"), "Re: Re: Re: Lieferung fehlt", date(24, 9, 0),
              text_part(text, "utf-8", "8bit"), extra=[("User-Agent", "Mutt/2.2.12 (2023-09-09)"),
                                                      ("In-Reply-To", "<ack-48213@example.test>")]),
         description="Bottom-quoted history with '> ' and '>> ' and no attribution line (mutt style); Subject with three "
                     "stacked Re:",
         subject="Re: Re: Re: Lieferung fehlt", display_subject="Lieferung fehlt",
         **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schäfer",
         text_contains=["leider ist das Paket bis heute nicht angekommen",
                        "Können Sie bitte beim Versanddienstleister nachfragen?",
                        "Ihr Paket wurde am Donnerstag an den Versanddienstleister übergeben."],
         new_part_contains=["leider ist das Paket bis heute nicht angekommen",
                            "Können Sie bitte beim Versanddienstleister nachfragen?"],
         new_part_excludes=["Ihr Paket wurde am Donnerstag", "innerhalb von zwei Werktagen", "wo bleibt meine Bestellung",
                            "Sehr geehrter Herr Schäfer"],
         language="de")

    text = """\
Dobrý den,

faktura se mi stále nestahuje, po kliknutí na odkaz se zobrazí jen\x20
chyba 500. Zkoušel jsem to dnes ráno i odpoledne, vždy se stejným\x20
výsledkem.
Můžete mi ji prosím poslat jako přílohu?

Děkuji
Jan Novák

--\x20
Jan Novák
Novák a syn s.r.o., Dlouhá 12, 110 00 Praha 1
tel.: +420 601 234 567
https://novak-a-syn.test

Dne 23. 11. 2026 v 9:14 Zákaznická podpora napsal(a):
> Dobrý den,
>
> fakturu si můžete stáhnout v sekci Moje objednávky.
>
> S pozdravem
> Zákaznická podpora
"""
    case("reply-signature-thunderbird-cs",
         mail("reply-signature-thunderbird-cs", from_hdr("cs"), "Re: " + q_word("Nefunguje stažení faktury"),
              date(24, 9, 5), text_part(text, "UTF-8", "8bit", params="; format=flowed"),
              extra=[("User-Agent", "Mozilla Thunderbird"), ("Content-Language", "cs"),
                     ("In-Reply-To", "<ack-48213@example.test>")]),
         description="Thunderbird reply, format=flowed: new text, then a signature after the '-- ' separator (which "
                     "flowed text must not join to the next line), then the Czech attribution 'Dne ... napsal(a):' "
                     "and '> ' quoted history; neither signature nor history belongs to the new part",
         subject="Re: Nefunguje stažení faktury", display_subject="Nefunguje stažení faktury",
         **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novák",
         text_contains=["faktura se mi stále nestahuje", "Můžete mi ji prosím poslat jako přílohu?",
                        "tel.: +420 601 234 567"],
         new_part_contains=["faktura se mi stále nestahuje", "Můžete mi ji prosím poslat jako přílohu?"],
         new_part_excludes=["Novák a syn s.r.o.", "+420 601 234 567", "https://novak-a-syn.test",
                            "fakturu si můžete stáhnout v sekci Moje objednávky", "napsal(a):"],
         language="cs")


# --------------------------------------------------------------------------------------------
# 7. Attachments
# --------------------------------------------------------------------------------------------

def attachments():
    pdf = fake_pdf("Invoice 2026-0042")
    body = multipart("mixed", [
        text_part(EN_INVOICE.replace("I still have not received the invoice",
                                     "the attached invoice shows the wrong company name"), "us-ascii", "7bit"),
        binary_part(pdf, 'application/pdf; name="invoice-2026-0042.pdf"',
                    'attachment; filename="invoice-2026-0042.pdf"; size=%d' % len(pdf)),
    ], "Apple-Mail=_3F2A1C0D-7B6E-4C5D-9A8B-1E2F3A4B5C6D")
    case("attachment-pdf",
         mail("attachment-pdf", "Anna Smith <Anna.Smith@Customer.test>", "Wrong company name on invoice",
              date(23, 14, 0, "+0000"), body, extra=[("X-Mailer", "Apple Mail (2.3774.600.62)")]),
         description="A text part and a base64 PDF attachment with a plain quoted filename; the From address is "
                     "lower-cased",
         subject="Wrong company name on invoice", **{"from": "anna.smith@customer.test"}, from_name="Anna Smith",
         text_contains=["the attached invoice shows the wrong company name"],
         attachments=[att("invoice-2026-0042.pdf", "application/pdf", pdf)], language="en")

    png = tiny_png()
    cid = "image001.png@01DB3D2A.5F7E1C20"
    html = (HTML_HEAD % "utf-8") + """\
<p>Dear support,</p>
<p>when I click on &quot;Pay now&quot; in the checkout I get the error shown below.
It happens every time, with both of my credit cards.</p>
<p><img src="cid:%s" alt="error screenshot" width="16" height="16"></p>
<p>Could you please look into it? I would like to complete the order today.</p>
<p>Thanks,<br>Anna Smith</p>
</body></html>
""" % cid
    related = multipart("related", [
        text_part(html, "utf-8", "quoted-printable", subtype="html"),
        binary_part(png, 'image/png; name="image001.png"', 'inline; filename="image001.png"',
                    extra=[("Content-ID", "<%s>" % cid)]),
    ], "_007_related_", params='; type="text/html"', preamble=False)
    case("attachment-inline-image-cid",
         mail("attachment-inline-image-cid", "Anna Smith <anna.smith@customer.test>", "Error when paying",
              date(23, 14, 5, "+0000"), related, extra=[("X-Mailer", "Microsoft Outlook 16.0")]),
         description="multipart/related: HTML body that references a PNG by Content-ID (inline disposition). The text "
                     "comes from the HTML, and the screenshot is kept as an attachment",
         subject="Error when paying", **{"from": "anna.smith@customer.test"}, from_name="Anna Smith",
         text_contains=["I get the error shown below", "I would like to complete the order today"],
         text_excludes=["<img", "<p>", "font-family"],
         attachments=[att("image001.png", "image/png", png)], language="en")

    pdf = fake_pdf("Rechnung 48213")
    p = binary_part(pdf, 'application/pdf; name="Rechnung-48213.pdf"', 'attachment; filename="Rechnung-48213.pdf"')
    body = multipart("mixed", [
        text_part(DE_SHOP.replace("seit heute Morgen lässt sich Ihr Webshop bei mir nicht mehr öffnen.",
                                  "anbei die Rechnung, die ich versehentlich zweimal angehängt habe."),
                  "utf-8", "quoted-printable"), p, p,
    ], "----=_Part_123_456789.1795430040000")
    case("attachment-duplicate",
         mail("attachment-duplicate", from_hdr("de"), q_word("Rechnung doppelt angehängt"), date(23, 14, 10), body),
         description="The same PDF attached twice (identical parts, identical names): both parts are reported",
         subject="Rechnung doppelt angehängt", **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schäfer",
         text_contains=["anbei die Rechnung, die ich versehentlich zweimal angehängt habe."],
         attachments=[att("Rechnung-48213.pdf", "application/pdf", pdf)] * 2, language="de")

    passwd = b"root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n"  # base64: LF kept
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode.\r\n" * 4
    pdf = fake_pdf("Invoice")
    ht = b"Deny from all\n"
    body = multipart("mixed", [
        text_part(EN_INVOICE, "us-ascii", "7bit"),
        binary_part(passwd, 'text/plain; name="../../etc/passwd"', 'attachment; filename="../../etc/passwd"'),
        binary_part(exe, 'application/x-msdownload; name="..\\\\..\\\\windows\\\\evil.exe"',
                    'attachment; filename="..\\\\..\\\\windows\\\\evil.exe"'),
        binary_part(pdf, "application/pdf", "attachment; filename*=utf-8''in%00voice%0D%0A%09.pdf"),
        binary_part(ht, 'application/octet-stream; name=".htaccess"', 'attachment; filename=".htaccess"'),
    ], "=_traversal_")
    case("attachment-path-traversal",
         mail("attachment-path-traversal", "Anna Smith <anna.smith@customer.test>", "Invoice documents",
              date(23, 14, 15, "+0000"), body),
         description="Hostile file names: '../../etc/passwd', '..\\..\\windows\\evil.exe' (written as a quoted-string "
                     "with escaped backslashes), 'in<NUL>voice<CR><LF><TAB>.pdf' via RFC 2231, and '.htaccess'. After "
                     "sanitising: last path component only, control characters removed, leading dots removed",
         subject="Invoice documents", **{"from": "anna.smith@customer.test"}, from_name="Anna Smith",
         text_contains=EN_SNIPPETS,
         attachments=[att("passwd", "text/plain", passwd), att("evil.exe", "application/x-msdownload", exe),
                      att("invoice.pdf", "application/pdf", pdf), att("htaccess", "application/octet-stream", ht)],
         language="en")

    inner_text = """\
Dzień dobry,

dziękujemy za złożenie zamówienia nr 48213 w naszym sklepie.
Zamówienie zostanie wysłane w ciągu dwóch dni roboczych.

Pozdrawiamy
Zespół Example Shop
"""
    inner = head([("From", SUPPORT), ("To", "Piotr Wisniewski <piotr.wisniewski@klient.test>"),
                  ("Subject", q_word("Potwierdzenie zamówienia 48213")), ("Date", date(20, 18, 0)),
                  ("Message-ID", "<order-48213-confirmation@example.test>"), ("MIME-Version", "1.0")]) + \
        text_part(inner_text, "utf-8", "quoted-printable").bytes()
    outer_text = PL_LOGIN.replace("Proszę o pilną pomoc, ponieważ muszę pobrać fakturę za październik.",
                                  "W załączniku przesyłam potwierdzenie zamówienia, które otrzymałem.")
    body = multipart("mixed", [
        text_part(outer_text, "utf-8", "quoted-printable"),
        Message([("Content-Type", 'message/rfc822; name="Potwierdzenie.eml"'),
                 ("Content-Disposition", 'attachment; filename="Potwierdzenie.eml"')], inner),
    ], "=_forward_rfc822")
    case("attachment-forwarded-rfc822",
         mail("attachment-forwarded-rfc822", from_hdr("pl"), "Fwd: " + q_word("Potwierdzenie zamówienia 48213"),
              date(23, 14, 20), body),
         description="A message forwarded as a message/rfc822 attachment: exactly one attachment, and its bytes are the "
                     "whole inner message (size counts them exactly), so its inner header line "
                     "'Subject: =?utf-8?Q?Potwierdzenie_zam=C3=B3wienia_48213?=' (Potwierdzenie zamówienia 48213) and "
                     "'Message-ID: <order-48213-confirmation@example.test>' are in the attachment bytes",
         subject="Fwd: Potwierdzenie zamówienia 48213", display_subject="Potwierdzenie zamówienia 48213",
         **{"from": "piotr.wisniewski@klient.test"}, from_name="Piotr Wiśniewski",
         text_contains=["W załączniku przesyłam potwierdzenie zamówienia"],
         attachments=[att("Potwierdzenie.eml", "message/rfc822", inner)], language="pl")


# --------------------------------------------------------------------------------------------
# 8. Malformed
# --------------------------------------------------------------------------------------------

def malformed():
    junk = garbage(700)
    assert not re.search(rb"(?im)^[a-z-]+:", junk)
    case("malformed-binary-garbage", junk,
         description="700 bytes of binary garbage, no header at all: kept and flagged, never dropped",
         subject="(message could not be parsed)", flags_include=["unparsable"])

    text = enc("""\
Hallo liebes Support-Team,

ich schreibe Ihnen, weil meine Bestellung nicht angekommen ist.
Bitte melden Sie sich bei mir.

Viele Grüße
Michael Schäfer
""", "utf-8")
    case("malformed-no-headers", text,
         description="Only a body, no header fields (e.g. a text file dropped into the mailbox): flagged unparsable",
         subject="(message could not be parsed)", flags_include=["unparsable"])

    case("malformed-no-message-id",
         mail("malformed-no-message-id", from_hdr("hu"), q_word("Nem kaptam meg a számlát"), date(23, 15, 0),
              text_part(HU_INVOICE, "utf-8", "quoted-printable"), mid=False),
         description="A normal message without a Message-ID header: parsed fully and flagged",
         subject="Nem kaptam meg a számlát", **{"from": "anna.kovacs@ugyfel.test"}, from_name="Kovács Anna",
         text_contains=HU_SNIPPETS, flags_include=["no_message_id"], language="hu")

    pdf_b64 = b64(fake_pdf("Rechnung"))
    body = multipart("mixed", [
        text_part(DE_SHOP, "utf-8", "8bit"),
        Part([("Content-Type", 'application/pdf; name="Rechnung.pdf"'), ("Content-Transfer-Encoding", "base64"),
              ("Content-Disposition", 'attachment; filename="Rechnung.pdf"')], pdf_b64[:200]),
    ], "----=_NextPart_truncated", close=False)
    case("malformed-truncated-multipart",
         mail("malformed-truncated-multipart", from_hdr("de"), "Webshop geht nicht", date(23, 15, 5), body),
         description="multipart/mixed cut off in the middle of the base64 attachment; the closing boundary never comes. "
                     "The first part's text must still be found (nothing asserted about the broken attachment)",
         subject="Webshop geht nicht", **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schäfer",
         text_contains=DE_SNIPPETS, language="de")

    case("malformed-no-mime-version-8bit",
         mail("malformed-no-mime-version-8bit", "Jan Novak <jan.novak@zakaznik.test>", "Prihlaseni nefunguje",
              date(23, 15, 10), text_part(CS_LOGIN, "iso-8859-2", "8bit"), mime=None),
         description="No MIME-Version header, but Content-Type with charset=iso-8859-2 and an 8bit body: the "
                     "Content-Type is honoured anyway",
         subject="Prihlaseni nefunguje", **{"from": "jan.novak@zakaznik.test"}, from_name="Jan Novak",
         text_contains=CS_SNIPPETS, text_excludes=["\ufffd"], language="cs")

    raw = head([("From", "Michael Schaefer <m.schaefer@kunde.test>"), ("To", SUPPORT),
                ("Subject", "Bestellung 48213"), ("Date", date(23, 15, 15)),
                ("Message-ID", "<malformed-no-mime-headers-utf8@mail.customer.test>")]) + b"\r\n" + \
        enc(DE_SHOP, "utf-8")
    case("malformed-no-mime-headers-utf8", raw,
         description="No MIME-Version, no Content-Type, no Content-Transfer-Encoding, yet an 8-bit UTF-8 body (old "
                     "scripts): decoded as UTF-8 rather than as US-ASCII with U+FFFD",
         subject="Bestellung 48213", **{"from": "m.schaefer@kunde.test"}, from_name="Michael Schaefer",
         text_contains=DE_SNIPPETS, text_excludes=["\ufffd"], language="de")


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

def tq(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F or (0x80 <= o < 0xA0) or unicodedata.category(ch) in ("Cf", "Zl", "Zp") \
                or ch in "\u00a0\ufffd":
            out.append("\\u%04X" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def tvalue(v):
    if isinstance(v, str):
        return tq(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, tvalue(x)) for k, x in v.items()) + " }"
    if isinstance(v, list):
        items = [tvalue(x) for x in v]
        one = "[" + ", ".join(items) + "]"
        if len(one) <= 90:
            return one
        return "[\n" + "".join("  %s,\n" % i for i in items) + "]"
    raise TypeError(v)


def toml_text(expect):
    lines = []
    for k in KEYS:
        if k in expect:
            lines.append("%s = %s" % (k, tvalue(expect[k])))
    return "\n".join(lines) + "\n"


def build():
    charsets()
    encoded_words()
    rfc2231()
    eight_bit_headers()
    transfer_encodings()
    text_vs_html()
    replies()
    attachments()
    malformed()


def write():
    names = set()
    for name, raw, expect in CASES:
        (HERE / (name + ".eml")).write_bytes(raw)
        (HERE / (name + ".toml")).write_text(toml_text(expect), encoding="utf-8", newline="\n")
        names.add(name)
    for p in list(HERE.glob("*.eml")) + list(HERE.glob("*.toml")):
        if p.stem not in names:
            print("stale file (not generated):", p.name)
    print("%d cases, %d files written to %s" % (len(CASES), 2 * len(CASES), HERE))


# --------------------------------------------------------------------------------------------
# Self-check and comparison with Python's email package
# --------------------------------------------------------------------------------------------

def norm(s):
    return re.sub(r"[\s\u00a0]+", " ", s)


def safe_filename(name):
    base = re.split(r"[/\\]", name)[-1]
    cleaned = "".join(c for c in base if unicodedata.category(c) != "Cc")
    out = cleaned.strip().lstrip(".").strip()
    return out or "attachment"


def crude_html_text(h):
    h = re.sub(r"(?is)<(head|style|script)\b.*?</\1\s*>", " ", h)
    h = re.sub(r"(?s)<!--.*?-->", " ", h)
    h = re.sub(r'(?is)<a\b[^>]*href="([^"]*)"[^>]*>', r" \1 ", h)
    h = re.sub(r"(?s)<[^>]+>", " ", h)
    import html as _html
    return _html.unescape(h)


def python_view(raw):
    """What Python's email package (policy=default) makes of a message."""
    from email import policy
    from email.parser import BytesParser
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    view = {}
    try:
        view["subject"] = str(msg["subject"]).strip() if msg["subject"] is not None else ""
    except Exception as e:  # noqa
        view["subject"] = "<error %r>" % e
    try:
        a = msg["from"].addresses[0]
        view["from"] = a.addr_spec.lower()
        view["from_name"] = a.display_name
    except Exception as e:  # noqa
        view["from"] = view["from_name"] = "<error %r>" % e
    body = None
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa
        pass
    text = ""
    if body is not None:
        try:
            text = body.get_content()
        except Exception as e:  # noqa
            text = "<error %r>" % e
        if body.get_content_type() == "text/html":
            text = norm(crude_html_text(text))  # a crude rendering: compare with white space collapsed
            view["html"] = True
    view["text"] = text
    atts = []

    def walk(part):
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            for p in part.iter_parts():
                walk(p)
            return
        if part is body:
            return
        ct = part.get_content_type()
        if ct.startswith("text/") and part.get_content_disposition() not in ("attachment",) and \
                not part.get_filename():
            return
        if ct == "message/rfc822":
            size = None
        else:
            size = len(part.get_payload(decode=True) or b"")
        try:
            fn = part.get_filename()
        except Exception as e:  # noqa
            fn = "<error %r>" % e
        atts.append({"filename": safe_filename(fn or "attachment"), "content_type": ct, "size": size})

    if msg.get_content_type() == "message/rfc822" or msg.is_multipart():
        walk(msg)
    view["attachments"] = atts
    return view


def check():
    import tomllib
    problems, python_diffs = [], []
    for name, raw, expect in CASES:
        # The files on disk are what we generated, and the .toml parses back to the same thing.
        assert (HERE / (name + ".eml")).read_bytes() == raw, name
        with open(HERE / (name + ".toml"), "rb") as f:
            back = tomllib.load(f)
        if back != expect:
            problems.append("%s: .toml does not round-trip" % name)
        if set(back) - set(KEYS):
            problems.append("%s: unknown keys %s" % (name, set(back) - set(KEYS)))
        # CRLF only (except the garbage case, which is not a message)
        if name != "malformed-binary-garbage":
            if re.search(rb"(?<!\r)\n", raw) or re.search(rb"\r(?!\n)", raw):
                problems.append("%s: bare CR or LF" % name)
        # new-part snippets must come from the text; excluded ones must really be in the text (else the test is void)
        if name.startswith("malformed-b") or name == "malformed-no-headers":
            continue
        view = python_view(raw)
        text = view["text"]
        fit = norm if view.get("html") else (lambda x: x)  # plain text: literal substrings
        for k in ("new_part_contains", "new_part_excludes"):
            for s in expect.get(k, []):
                if fit(s) not in text and name not in PYTHON_TEXT_WRONG:
                    problems.append("%s: %s snippet %r not in the decoded text" % (name, k, s))
        if "new_part_contains" in expect:
            for s in expect["new_part_contains"]:
                if s not in expect["text_contains"]:
                    problems.append("%s: new_part_contains %r not also in text_contains" % (name, s))

        # Compare with Python's email package
        diffs = []
        if view["subject"] != expect["subject"]:
            diffs.append("subject: python %r" % view["subject"])
        if "from" in expect and view["from"] != expect["from"]:
            diffs.append("from: python %r" % view["from"])
        if "from_name" in expect and view["from_name"] != expect["from_name"]:
            diffs.append("from_name: python %r" % view["from_name"])
        for s in expect.get("text_contains", []):
            if fit(s) not in text:
                diffs.append("text lacks %r" % s)
        for s in expect.get("text_excludes", []):
            if fit(s) in text:
                diffs.append("text has %r" % s)
        if "attachments" in expect:
            exp = expect["attachments"]
            got = view["attachments"]
            if len(got) != len(exp):
                diffs.append("attachments: python %r" % got)
            else:
                for e, g in zip(exp, got):
                    for k in ("filename", "content_type", "size"):
                        if g[k] is not None and g[k] != e[k]:
                            diffs.append("attachment %s: python %r, expected %r" % (k, g[k], e[k]))
        if diffs:
            python_diffs.append((name, diffs))

    for p in problems:
        print("PROBLEM:", p)
    print()
    print("Where Python's email package (policy=default) differs from the expectations:")
    for name, diffs in python_diffs:
        print("  %s" % name)
        for d in diffs:
            print("      %s" % d)
    return not problems


PYTHON_TEXT_WRONG = set()  # cases where Python's body text is wrong, so the self-check cannot use it

if __name__ == "__main__":
    build()
    write()
    if "--check" in sys.argv:
        sys.exit(0 if check() else 1)
