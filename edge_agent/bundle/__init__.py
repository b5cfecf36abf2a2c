"""Config bundles from the city: signed, versioned sets of ``conf.d`` drop-ins and profiles.

A bundle is ``manifest.json`` (who it is for, its version, the SHA-256 of every file),
``manifest.sig`` (an Ed25519 signature over the manifest's exact bytes) and the files
themselves, as a directory or a tarball. The agent verifies, validates and applies it
(:mod:`edge_agent.bundle.pull`); ``campus-ops bundle`` builds and signs it. Verification
lives here, beneath both, so that the agent never imports the central side's code.
"""

from .archive import read_bundle, read_dir, read_tar
from .manifest import (
    MANIFEST,
    SIGNATURE,
    BundleRefused,
    Manifest,
    VerifiedBundle,
    load_public_keys,
    verify,
)

__all__ = [
    "MANIFEST",
    "SIGNATURE",
    "BundleRefused",
    "Manifest",
    "VerifiedBundle",
    "load_public_keys",
    "read_bundle",
    "read_dir",
    "read_tar",
    "verify",
]
