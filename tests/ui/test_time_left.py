"""The one "time left" every progress display shows, from the pace so far."""

import time

from clerkdesk.services.jobs import Progress
from clerkdesk.ui.job_dialog import time_left


def test_time_left_follows_the_pace_and_counts_a_resumed_run_from_its_restart():
    started = time.monotonic() - 60  # a minute ago
    assert time_left(started, Progress(100, 300)) == "\nAbout 2:00 left"
    # A resumed run had 200 done when it restarted: 100 more a minute leaves 3 minutes.
    assert time_left(started, Progress(300, 600), done_before=200) == "\nAbout 3:00 left"
    assert time_left(started, Progress(0, 300)) == ""
    assert time_left(started, Progress(300, 300)) == ""
    assert time_left(started, Progress(200, 600), done_before=200) == ""
