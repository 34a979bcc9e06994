"""What every directory import produces (TLS-03 LDIF, CSV, TLS-04 shadow files): one `ImportEntry` per
account, or one `EntryProblem` per entry the parser cannot read. The pipeline (migration/pipeline.py) checks
every entry against the directory and the importer's scope before anything is written, then creates the
accepted ones with the same service as "Create User" (accounts.services.user_create).

Parsers never touch the directory, the network or the disk beyond the upload they are given; they stream
(an entry at a time) so a 10,000-entry file is never held whole in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImportEntry:
    """One account to create. Empty strings mean "not given" (the pipeline applies the form's defaults)."""

    where: str  # "line 12", "row 7", "entry 3 (line 40)": how the report names the entry
    uid: str
    last_name: str
    first_name: str = ""
    initials: str = ""
    mail: str = ""  # primary address; "" = <uid>@<domain of the container>
    aliases: tuple[str, ...] = ()  # mailAlias values (more addresses)
    forwards: tuple[str, ...] = ()  # mailForward targets
    # the person fields of accounts.services.person (key -> value), e.g. {"phone": "+49 30 1234"}
    person: Mapping[str, str] = field(default_factory=dict)
    # exactly one of these two, or neither (the pipeline then refuses the entry or, for shadow files,
    # creates it disabled as the issue says)
    password: str = ""  # clear text: set through Password Modify, never stored
    password_hash: str = ""  # "{SSHA}...", "{CRYPT}$6$...": kept as it is if slapd can verify the scheme
    # the container the file names for the entry (LDIF: the DN's parent); "": the one chosen in the form
    container_dn: str = ""
    disabled: bool = False  # created with mailEnabled FALSE (locked shadow accounts, empty hashes)
    note: str = ""  # a line for the report even when the entry is accepted ("locked in the shadow file")
    # Account options the file may set for this entry; None = not given, the import form's choice applies.
    quota_kib: int | None = None
    web_access: bool | None = None
    send_local_only: bool | None = None
    receive_local_only: bool | None = None


# An EntryProblem whose `where` is this is about the whole file (not UTF-8, a header the parser cannot use):
# the pipeline refuses the file with its reason and reads no further.
FILE_WHERE = "file"


@dataclass(frozen=True)
class EntryProblem:
    """An entry the parser could not read: the report shows it refused with `reason`; the rest goes on
    (unless `where` is FILE_WHERE)."""

    where: str
    reason: str
    uid: str = ""  # when the parser got as far as the login
