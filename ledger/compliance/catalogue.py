"""The profiles a process knows: the built-ins plus an operator's directory."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ledger.compliance.profile import Profile
from ledger.compliance.profile_files import load_profile_file
from ledger.errors import ProfileError, UnknownProfileError

BUILTIN_DIR = Path(__file__).resolve().parent / "profiles"


TEMPLATES_DIR = BUILTIN_DIR / "templates"


PROFILES_DIR_ENV = "CEHOURS_PROFILES_DIR"


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every known profile version: the built-ins plus an operator's directory."""

    profiles: tuple[Profile, ...]

    def all(self) -> list[Profile]:
        """Every version of every profile, by id then version."""
        return sorted(self.profiles, key=lambda p: (p.id, p.version))

    def latest(self) -> list[Profile]:
        """The newest version of each profile."""
        newest: dict[str, Profile] = {}
        for p in self.all():
            newest[p.id] = p
        return list(newest.values())

    def get(self, ref: str, version: int | None = None) -> Profile:
        """Find a profile by ``id``, ``id@version`` or ``id`` plus ``version``; newest if unsaid.

        Raises:
            UnknownProfileError: no such profile or version.
        """
        if not isinstance(ref, str) or len(ref) > 80:
            raise UnknownProfileError("profile must be a profile id such as r1-annual-90")
        profile_id, _, wanted = ref.partition("@")
        if wanted:
            if not wanted.isdigit():
                raise UnknownProfileError(f"{ref!r}: a version after @ must be a number")
            version = int(wanted)
        matches = [p for p in self.profiles if p.id == profile_id]
        if not matches:
            raise UnknownProfileError(f"no profile {profile_id!r}")
        if version is None:
            return max(matches, key=lambda p: p.version)
        for p in matches:
            if p.version == version:
                return p
        raise UnknownProfileError(f"profile {profile_id!r} has no version {version}")


def load_directory(directory: Path) -> list[Profile]:
    """Load every ``*.yaml``, ``*.yml`` and ``*.json`` file of a directory (not recursive).

    Raises:
        ProfileError: a file is invalid (its errors are prefixed by the file name).
    """
    profiles = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in {".yaml", ".yml", ".json"} or not path.is_file():
            continue
        try:
            profiles.append(load_profile_file(path))
        except ProfileError as exc:
            raise ProfileError({f"{path.name}: {k}": v for k, v in exc.errors.items()}) from None
    return profiles


def build_catalogue(directories: Iterable[Path]) -> Catalogue:
    """Load profiles from directories; the same id and version twice must be the same content.

    Raises:
        ProfileError: a file is invalid, or two files give one id and version different content.
    """
    by_ref: dict[str, Profile] = {}
    for directory in directories:
        for profile in load_directory(directory):
            other = by_ref.get(profile.ref)
            if other is not None and other.digest != profile.digest:
                raise ProfileError(
                    {
                        profile.ref: [
                            f"defined twice with different content ({other.origin} and"
                            f" {profile.origin}); publish a change as a new version"
                        ]
                    }
                )
            by_ref[profile.ref] = profile
    return Catalogue(tuple(by_ref.values()))


@functools.cache
def _cached_catalogue(extra: str | None) -> Catalogue:
    directories = [BUILTIN_DIR]
    if extra:
        directories.append(Path(extra))
    return build_catalogue(directories)


def catalogue() -> Catalogue:
    """The profiles this process knows: built-ins plus ``$CEHOURS_PROFILES_DIR`` (loaded once).

    Raises:
        ProfileError: a profile file is invalid.
    """
    return _cached_catalogue(os.environ.get(PROFILES_DIR_ENV) or None)


def get_profile(ref: str, version: int | None = None) -> Profile:
    """Shortcut for ``catalogue().get(ref, version)``.

    Raises:
        UnknownProfileError: no such profile or version.
    """
    return catalogue().get(ref, version)


def profile_json(profile: Profile) -> str:
    """The normalised content as JSON (for ``cehours profiles show`` and diffs)."""
    return json.dumps(profile.content(), ensure_ascii=False, indent=2, sort_keys=True)
