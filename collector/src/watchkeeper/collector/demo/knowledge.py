"""The demo app's knowledge base: a fictional note-taking product's support articles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    """One support article with the questions users ask about it."""

    topic: str
    questions: tuple[str, ...]
    answer: str


ARTICLES: tuple[Article, ...] = (
    Article(
        "sync",
        ("Why are my notes not syncing?", "How do I force a sync?", "Sync is stuck, what now?"),
        "Lumen Notes syncs every 30 seconds while online. Open Settings > Sync and press "
        "Sync now to force it; if it stays stuck, sign out and back in to refresh the token.",
    ),
    Article(
        "export",
        ("How do I export my notes?", "Can I export to PDF?", "Export all notes as markdown?"),
        "Use File > Export. Single notes export to PDF or Markdown; File > Export all writes "
        "a zip of Markdown files with attachments in a folder per notebook.",
    ),
    Article(
        "pricing",
        ("How much does Pro cost?", "What is the price of the team plan?", "Is there a free plan?"),
        "The free plan keeps 3 notebooks and 100 MB. Pro is 4 dollars a month with unlimited "
        "notebooks and 10 GB; Team is 8 dollars per user a month with shared notebooks.",
    ),
    Article(
        "password",
        ("I forgot my password", "How do I reset my password?", "Password reset email missing"),
        "Choose Forgot password on the sign-in screen; the reset link is valid for 1 hour. "
        "Check the spam folder if the email does not arrive within 5 minutes.",
    ),
    Article(
        "offline",
        ("Does it work offline?", "Can I edit notes without internet?", "Offline mode?"),
        "Yes. Every note you opened in the last 30 days is cached; edits made offline sync "
        "automatically when the device is back online.",
    ),
    Article(
        "share",
        ("How do I share a notebook?", "Can others edit my note?", "Share a note with a link?"),
        "Open the notebook menu and choose Share. Invite people by email as viewers or "
        "editors, or create a read-only link that can be revoked at any time.",
    ),
    Article(
        "delete",
        ("How do I recover a deleted note?", "Where is the trash?", "Undo delete note"),
        "Deleted notes stay in Trash for 30 days. Open Trash in the sidebar, select the note "
        "and press Restore; emptying the trash deletes notes permanently.",
    ),
    Article(
        "tags",
        ("How do tags work?", "Can I rename a tag?", "Filter notes by tag?"),
        "Type # followed by a word to tag a note. Rename or merge tags under Settings > Tags; "
        "click a tag in the sidebar to filter notes by it.",
    ),
    Article(
        "search",
        ("Search does not find my note", "Can I search inside PDFs?", "How does search work?"),
        "Search covers titles, note text and tags, and text inside PDF attachments up to 50 "
        "pages. New notes are searchable within a minute of saving.",
    ),
    Article(
        "account",
        ("How do I delete my account?", "Change my email address", "Close my account"),
        "Go to Settings > Account. You can change the email address there, or delete the "
        "account; deletion removes all notes after a 14 day grace period.",
    ),
    Article(
        "encryption",
        ("Are my notes encrypted?", "Is there end-to-end encryption?", "Is my data secure?"),
        "Notes are encrypted in transit with TLS and at rest with AES-256. End-to-end "
        "encryption is available for notebooks marked Private in the Pro and Team plans.",
    ),
    Article(
        "import",
        ("Can I import from Evernote?", "Import markdown files", "How to import notes?"),
        "File > Import reads Evernote ENEX exports, Markdown folders and plain text files; "
        "notebooks and tags are kept, attachments up to 25 MB each are imported.",
    ),
)
