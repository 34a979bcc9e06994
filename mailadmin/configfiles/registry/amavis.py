"""The content filter's registry (CFG-03): amavisd-new with ClamAV and SpamAssassin, as Configuration →
Content filter. The names are the page's own, not amavis variables; mailadmin/configfiles/amavis.py says what
each becomes in amavisd.conf (and `enabled` in Postfix's main.cf). The order of the three spam levels is
checked by the renderer, across fields.

The data table is laid out by hand (one parameter, then its help), hence `fmt: off`.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles.amavis import MAX_SERVERS, SPAM_ACTIONS, VIRUS_ACTIONS
from mailadmin.configfiles.registry import Group, Kind, Param, Registry

FILTER, SPAM, ACTIONS, DAEMON = "filter", "spam", "actions", "daemon"

GROUPS = (
    Group(FILTER, _("Content filter")),
    Group(SPAM, _("Spam levels")),
    Group(ACTIONS, _("What happens to viruses and spam")),
    Group(DAEMON, _("amavisd")),
)

LEVEL = re.compile(r"-?[0-9]{1,4}(?:\.[0-9]{1,3})?")
FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")

# fmt: off
PARAMS = (
    Param("enabled", Kind.BOOLEAN, FILTER, example="no", help=_(
        "yes: Postfix hands every message to amavisd, which has it scanned by ClamAV for viruses and by "
        "SpamAssassin for spam, before the disclaimer filter and delivery. no: mail goes straight to the "
        "disclaimer filter, as without a content filter. While amavisd is down, mail waits in Postfix's "
        "queue. Example: yes.")),
    Param("bypass_virus_checks", Kind.BOOLEAN, FILTER, example="no", help=_(
        "yes: no message is scanned for viruses (ClamAV is not asked). Example: no.")),
    Param("bypass_spam_checks", Kind.BOOLEAN, FILTER, example="no", help=_(
        "yes: no message is scored by SpamAssassin, so nothing is tagged or stopped as spam. Example: no.")),
    # --- spam levels ------------------------------------------------------------------------------------
    Param("tag_level", Kind.TEXT, SPAM, unit="points", example="2.0", pattern=LEVEL, help=_(
        "From this SpamAssassin score on, mail to the hosted domains gets X-Spam-Status and X-Spam-Level "
        "headers. Must not be above the tag2 level. Example: 2.0.")),
    Param("tag2_level", Kind.TEXT, SPAM, unit="points", example="6.31", pattern=LEVEL, help=_(
        "From this score on, mail to the hosted domains counts as spam: X-Spam-Flag: YES and ***SPAM*** in "
        "front of the subject. Must not be above the kill level. Example: 6.31.")),
    Param("kill_level", Kind.TEXT, SPAM, unit="points", example="6.31", pattern=LEVEL, help=_(
        "From this score on, the spam action below applies. Example: 6.31.")),
    # --- actions ----------------------------------------------------------------------------------------
    Param("virus_action", Kind.CHOICE, ACTIONS, example="quarantine", choices=VIRUS_ACTIONS, help=_(
        "What happens to a message with a virus. discard: it is dropped. quarantine: it is dropped and a "
        "copy is kept in the quarantine folder named below. bounce: Postfix returns the infected mail to a "
        "probably forged sender (the virus goes with it), so it is rarely what you want. "
        "Example: quarantine.")),
    Param("virus_quarantine_folder", Kind.TEXT, ACTIONS, example="virus", pattern=FOLDER, help=_(
        "The folder in the quarantine where infected mail is kept: one name of letters, digits, - and _. "
        "Example: virus.")),
    Param("spam_action", Kind.CHOICE, ACTIONS, example="pass", choices=SPAM_ACTIONS, help=_(
        "What happens to spam at or above the kill level. pass: it is delivered, tagged. discard: it is "
        "dropped. quarantine: it is dropped and a copy is kept in the folder named below. bounce: Postfix "
        "returns it to its sender, which is usually forged. Example: pass.")),
    Param("spam_quarantine_folder", Kind.TEXT, ACTIONS, example="spam", pattern=FOLDER, help=_(
        "The folder in the quarantine where spam is kept: one name of letters, digits, - and _. "
        "Example: spam.")),
    # --- daemon -----------------------------------------------------------------------------------------
    Param("log_level", Kind.NUMBER, DAEMON, example="2", minimum=0, maximum=5, help=_(
        "How much amavisd writes to its log, 0 (one line per message) to 5 (debugging). 2 adds where the "
        "time went for each message. Example: 2.")),
    Param("max_servers", Kind.NUMBER, DAEMON, unit="processes", example="2", minimum=1,
          maximum=MAX_SERVERS, help=_(
        "How many messages amavisd scans at the same time; Postfix opens no more connections than this. "
        "Each process needs about 150 MB of memory. Example: 2.")),
)
# fmt: on

AMAVIS = Registry(
    service="amavis", title=_("Content filter"), file="amavisd.conf", groups=GROUPS, params=PARAMS
)
