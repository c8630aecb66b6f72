"""Regenerate docs/screenshots/portal-*.png: every page of the reference portal, in chromium.

Run from the project folder:

    .venv/bin/python scripts/portal_screenshots.py

A small demo database (four households, their members and web accounts, all made through
the services) is built in a temporary folder, the portal is served from it on a free loopback
port, and Debian's chromium (`apt-get install chromium`; Playwright's own browsers are not
needed) visits each page the way a household would: signing in, mistyping a password until
the final-attempt warning and the lock, changing an assigned PIN, asking for a reset link
(the demo captures its mail, so the link is read from the captured .eml) and so on. Each page
is saved at a phone's width (390 px) and the main ones also at a desktop's (1280 px).
Nothing outside the temporary folder is read or written, except the PNGs.
"""

import argparse
import email
import email.policy
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The browser tests' helpers drive the pages the same way here (no ClerkDesk setting is read
# at import time, so the private environment set in main() still governs everything).
from tests.portal.browser_support import CHROMIUM_ARGS as BROWSER_TEST_ARGS  # noqa: E402
from tests.portal.browser_support import fill_sign_in, follow, press  # noqa: E402

OUTPUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [*BROWSER_TEST_ARGS, "--font-render-hinting=none"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ORGANISATION = "Riverside Recreation"
STAFF_PASSWORD = "screenshot-staff-pass"
OWN_PASSWORD = "Harbour-Lantern-Kettle-9"  # the Rivera household's own password
ASSIGNED_PIN = "4812-7730"  # the PIN a clerk gave the Nguyen household


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT,
                        help=f"where the PNGs go (default: {OUTPUT.relative_to(ROOT)})")
    options = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"Debian's chromium is needed at {CHROMIUM}: sudo apt-get install chromium",
              file=sys.stderr)
        return 1
    options.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="clerkdesk-portal-shots-") as private:
        private_environment(Path(private))
        saved = capture_all(Path(private), options.output)
    print(f"Saved {len(saved)} screenshots in {options.output}:")
    for name in saved:
        print(f"  {name}")
    return 0


def private_environment(private: Path) -> None:
    """Data, settings and keyring in the temporary folder, and a low bcrypt cost. Set before
    ClerkDesk is imported, so nothing it reads comes from the real data folder."""
    os.environ.pop("CLERKDESK_DATABASE_URL", None)
    os.environ.update({
        "CLERKDESK_DATA_DIR": str(private / "data"),
        "CLERKDESK_BCRYPT_COST": "4",
        "XDG_CONFIG_HOME": str(private / "config"),
        "XDG_DATA_HOME": str(private / "xdg-data"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    })


# --- the demo database ---------------------------------------------------------------------

class Demo:
    """What the pages need: an administrator and a clerk, and the households' ids."""

    def __init__(self, private: Path) -> None:
        from clerkdesk.services import settings, staff
        from clerkdesk.services.database import open_database

        open_database(f"sqlite:///{private / 'portal-demo.sqlite3'}")
        staff.create_first_administrator("ada", "Ada Admin", STAFF_PASSWORD, STAFF_PASSWORD)
        self.admin = staff.sign_in("ada", STAFF_PASSWORD)
        staff.add_staff(self.admin, "cleo", "Cleo Clerk", STAFF_PASSWORD, "Clerk")
        self.clerk = staff.sign_in("cleo", STAFF_PASSWORD)
        self.mail_folder = private / "captured-mail"
        settings.set_settings(self.admin, {
            "email.mode": "capture", "email.capture_folder": str(self.mail_folder),
            "email.from_address": "frontdesk@riverside.example.org",
            "password_policy.max_attempts": 3,
        })
        self.rivera = self.household("1042", "Rivera", "rivera@example.org",
                                     [("Maria", "Rivera"), ("José", "Rivera"),
                                      ("Lucía", "Rivera")])
        self.nguyen = self.household("1043", "Nguyen", "nguyen@example.org",
                                     [("Thanh", "Nguyen"), ("Linh", "Nguyen")])
        self.okafor = self.household("1044", "Okafor", "okafor@example.org",
                                     [("Chidi", "Okafor")])
        self.haddad = self.household("1045", "Haddad", "haddad@example.org",
                                     [("Samir", "Haddad"), ("Noor", "Haddad")])
        self.account("rivera", self.rivera, OWN_PASSWORD, must_change=False)
        self.account("nguyen-1043", self.nguyen, ASSIGNED_PIN, must_change=True)
        self.account("okafor", self.okafor, OWN_PASSWORD, must_change=False)

    def household(self, client_id: str, name: str, address: str,
                  members: list[tuple[str, str]]) -> int:
        from clerkdesk.services import households

        people = tuple(households.MemberData(first_name=first, last_name=last,
                                             is_primary=index == 0)
                       for index, (first, last) in enumerate(members))
        data = households.HouseholdData(client_id=client_id, name=name, email=address,
                                        members=people)
        return households.save_household(self.clerk, None, None, data).id

    def account(self, username: str, household_id: int, password: str, *,
                must_change: bool) -> int:
        from clerkdesk.services import web_accounts

        return web_accounts.create_account(self.clerk, household_id, username, password,
                                           password, must_change=must_change).id

    def point_links_at(self, url: str) -> None:
        from clerkdesk.services import settings

        settings.set_setting(self.admin, "portal.url", url)

    def sign_up_link(self) -> str:
        from clerkdesk.services import account_links

        return account_links.sign_up_link(self.clerk, self.haddad).link

    def reset_link(self) -> str:
        """The link in the newest captured reset email."""
        for path in sorted(self.mail_folder.glob("*.eml"), key=os.path.getmtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            body = message.get_body(("plain",))
            found = re.search(r"https?://\S+/reset\?token=\S+", body.get_content() if body else "")
            if found:
                return found.group(0)
        raise RuntimeError(f"no reset email was captured in {self.mail_folder}")


# --- serving and capturing -----------------------------------------------------------------

@contextmanager
def serving(limit: str) -> Iterator[object]:
    from clerkdesk.portal import create_app
    from clerkdesk.portal.server import RunningPortal, ServeOptions

    app = create_app(limit=limit, organisation=ORGANISATION,
                     secret_key="portal-screenshots-signing-key")
    with RunningPortal(app, ServeOptions(host="127.0.0.1", port=0)) as running:
        yield running


class Camera:
    """Makes browser contexts of a given width and saves full-page PNGs as portal-<name>."""

    def __init__(self, browser, output: Path) -> None:
        self.browser = browser
        self.output = output
        self.saved: list[str] = []

    def context(self, viewport: dict[str, int]):
        made = self.browser.new_context(viewport=viewport, device_scale_factor=1,
                                        locale="en-US", color_scheme="light")
        made.set_default_timeout(10_000)
        return made

    def shoot(self, page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        filename = f"portal-{name}.png"
        page.screenshot(path=str(self.output / filename), full_page=True, animations="disabled",
                        caret="hide")
        self.saved.append(filename)


def capture_all(private: Path, output: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    demo = Demo(private)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        camera = Camera(browser, output)
        try:
            with serving("1000 per minute") as portal:
                demo.point_links_at(portal.url)
                for viewport, suffix in ((PHONE, ""), (DESKTOP, "-desktop")):
                    context = camera.context(viewport)
                    household_pages(camera, context.new_page(), portal, suffix)
                    context.close()
                context = camera.context(PHONE)
                phone_only_pages(camera, context, portal, demo)
                context.close()
            with serving("2 per minute") as strict:  # the 429 page
                context = camera.context(PHONE)
                too_many(camera, context.new_page(), strict)
                context.close()
        finally:
            browser.close()
    return camera.saved


def household_pages(camera: Camera, page, portal, suffix: str) -> None:
    """The pages shown at both widths: sign in, first-login change, landing page, sign up."""
    page.goto(portal.url + "/sign-in")
    camera.shoot(page, "sign-in" + suffix)

    sign_in(page, portal, "nguyen-1043", ASSIGNED_PIN)
    camera.shoot(page, "first-login" + suffix)
    sign_out(page)

    sign_in(page, portal, "rivera", OWN_PASSWORD)
    camera.shoot(page, "home" + suffix)
    sign_out(page)

    page.goto(portal.url + "/sign-up")
    camera.shoot(page, "sign-up" + suffix)


def phone_only_pages(camera: Camera, context, portal, demo: Demo) -> None:
    page = context.new_page()
    for attempt in ("okafor-wrong-1", "okafor-wrong-2"):
        sign_in(page, portal, "okafor", attempt)
    camera.shoot(page, "sign-in-final-attempt")
    sign_in(page, portal, "okafor", "okafor-wrong-3")
    camera.shoot(page, "sign-in-locked")

    sign_in(page, portal, "nguyen-1043", ASSIGNED_PIN)
    page.get_by_label("New password", exact=True).fill("Paper-Lantern-River-5")
    page.get_by_label("Type the new password again", exact=True).fill("Paper-Lantern-River-6")
    press(page, "Save and sign in again")
    camera.shoot(page, "first-login-problem")
    sign_out(page)

    sign_in(page, portal, "rivera", OWN_PASSWORD)
    follow(page, "Change your user name or password")
    camera.shoot(page, "change-sign-in")
    follow(page, "Back without changing anything")
    sign_out(page)
    camera.shoot(page, "signed-out")

    page.goto(portal.url + "/forgot-user-name")
    camera.shoot(page, "forgot-user-name")
    page.goto(portal.url + "/forgot-password")
    camera.shoot(page, "forgot-password")
    page.get_by_label("User name").fill("rivera")
    press(page, "Email me a reset link")
    camera.shoot(page, "sent")
    portal.app.extensions["clerkdesk_background"].drain(timeout=10)

    page.goto(demo.reset_link())
    camera.shoot(page, "reset")
    page.get_by_label("New password", exact=True).fill("Willow-Orchard-Tram-8")
    page.get_by_label("Type the new password again", exact=True).fill("Willow-Orchard-Tram-8")
    press(page, "Save the new password")
    camera.shoot(page, "reset-done")

    page.goto(demo.sign_up_link())
    camera.shoot(page, "sign-up-invited")

    page.goto(portal.url + "/reset?token=this-link-was-already-used")
    camera.shoot(page, "dead-link")


def too_many(camera: Camera, page, portal) -> None:
    for attempt in range(3):
        sign_in(page, portal, "rivera", f"guess-{attempt}")
    camera.shoot(page, "too-many-attempts")


def sign_in(page, portal, username: str, password: str) -> None:
    """Type a user name and password into the sign-in page (opened unless it is showing)."""
    if not page.url.startswith(portal.url + "/sign-in"):
        page.goto(portal.url + "/sign-in")
    fill_sign_in(page, username, password)


def sign_out(page) -> None:
    press(page, "Sign out")


if __name__ == "__main__":
    sys.exit(main())
