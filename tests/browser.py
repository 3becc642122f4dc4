"""Pages as a browser lays them out: headless Chromium (Debian's `chromium`), for the tests of the
HTML reports and nbgrader's feedback pages, and for dev/report-screenshot."""
import json
import re
import shutil
import subprocess

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(scratch, *args):
    """Run headless Chromium with a profile of its own in the folder `scratch`."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "chromium is not installed: run dev/install-test-deps"
    profile = scratch / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def measured(scratch, page, measure, window="1200,900"):
    """What Chromium laid out for `page`, as the JavaScript function body `measure` returns it
    (JSON); the script is added to a copy of the page, whose own policy may forbid scripts."""
    script = (f"<script>const measured = (() => {{ {measure} }})();\nconst pre = document.createElement('pre');\n"
              "pre.id = 'measured';\npre.textContent = JSON.stringify(measured);\ndocument.body.append(pre);</script>")
    text = page.read_text()
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text).replace("</body>", script + "</body>")
    probe = page.with_name(f"probe-{page.name}")
    probe.write_text(text)
    dom = chromium(scratch, f"--window-size={window}", "--dump-dom", probe.resolve().as_uri()).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, f"the page did not load in chromium:\n{dom[:2000]}"
    return json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
