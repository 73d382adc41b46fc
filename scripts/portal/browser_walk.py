#!/usr/bin/env python3
"""Walks the Caduceus portal in headless Chromium, as each person, with their card.

Usage: browser_walk.py PLAN.json RESULT.json

Each person gets a HOME of their own with an NSS database (`sql:$HOME/.pki/nssdb`) holding their card (PKCS#12,
imported with pk12util) and the federation root as a trusted CA (certutil); Chromium picks the card by the managed
policy AutoSelectCertificateForUrls (Debian's Chromium reads /etc/chromium/policies/managed; the file is written for
the run and removed after it). selenium drives /usr/bin/chromedriver. Steps per person:
  {"get": URL, "mayFail": BOOL} {"click": LINK TEXT} {"xpath": XPATH to click} {"press": CSS of a button} {"fill": {CSS: TEXT}} {"shot": NAME}
  {"check": CSS of a checkbox} {"js": EXPRESSION} (its value is recorded, e.g. whether an image decoded)
A screenshot is saved per "shot" (PNG) in the plan's screenshot folder. The result lists, per person and step, the
page URL, title and visible text, every request URL the browser made (Chrome's performance log), and the page source
of each shot; plus the raw HTTP probes ("probes": CSRF and cookie binding, with Python's ssl and a client card).
"""
import json
import os
import shutil
import subprocess
import sys
import time
import traceback

from https_probes import probe  # one raw-HTTPS probe for both scripts
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

POLICY_DIR = "/etc/chromium/policies/managed"
POLICY_FILE = os.path.join(POLICY_DIR, "caduceus-portal-test.json")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def prepare_home(home, person, root):
    nssdb = os.path.join(home, ".pki", "nssdb")
    os.makedirs(nssdb, exist_ok=True)
    run(["certutil", "-N", "-d", "sql:" + nssdb, "--empty-password"])
    run(["certutil", "-A", "-d", "sql:" + nssdb, "-n", "caduceus-root", "-t", "C,,", "-i", root])
    run(["pk12util", "-d", "sql:" + nssdb, "-i", person["p12"], "-W", person["password"]])


def driver_for(home, plan):
    opts = Options()
    opts.binary_location = plan.get("chromium", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--user-data-dir=" + os.path.join(home, "profile"), "--no-first-run", "--disable-extensions",
                "--host-resolver-rules=" + plan["hostRules"]]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    env = dict(os.environ, HOME=home)
    service = Service(executable_path=plan.get("chromedriver", "/usr/bin/chromedriver"), env=env)
    return webdriver.Chrome(service=service, options=opts)


def requested_urls(driver):
    urls = []
    try:
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
    except WebDriverException:
        pass
    return urls


def walk(person, plan, shots):
    home = os.path.join(plan["work"], person["name"])
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(home)
    prepare_home(home, person, plan["root"])
    driver = driver_for(home, plan)
    out = {"name": person["name"], "steps": [], "urls": [], "error": None}
    try:
        for step in person["steps"]:
            record = {"step": step}
            if "get" in step:
                try:
                    driver.get(step["get"])
                except WebDriverException as e:
                    # A refused card: the handshake fails and Chromium shows its own error page.
                    if not step.get("mayFail"):
                        raise
                    record["refused"] = e.msg or "refused"
            elif "click" in step:
                driver.find_element(By.LINK_TEXT, step["click"]).click()
            elif "xpath" in step:
                driver.find_element(By.XPATH, step["xpath"]).click()
            elif "press" in step:
                driver.find_element(By.CSS_SELECTOR, step["press"]).click()
            elif "check" in step:
                box = driver.find_element(By.CSS_SELECTOR, step["check"])
                if not box.is_selected():
                    box.click()
            elif "js" in step:
                record["value"] = driver.execute_script("return " + step["js"])
            elif "fill" in step:
                for css, text in step["fill"].items():
                    field = driver.find_element(By.CSS_SELECTOR, css)
                    field.clear()
                    field.send_keys(text)
            elif "shot" in step:
                path = os.path.join(shots, step["shot"] + ".png")
                # A full-height screenshot: the window grows to the page's height (bounded).
                height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)") or 900
                driver.set_window_size(1280, max(900, int(height)))
                driver.save_screenshot(path)
                driver.set_window_size(1280, 900)
                record["screenshot"] = path
                record["source"] = driver.page_source
            time.sleep(0.05)
            record["url"] = driver.current_url
            record["title"] = driver.title
            try:
                record["text"] = driver.find_element(By.TAG_NAME, "body").text
            except WebDriverException:
                record["text"] = ""
            out["steps"].append(record)
            out["urls"] += requested_urls(driver)
    except Exception:
        out["error"] = traceback.format_exc()
    finally:
        out["urls"] += requested_urls(driver)
        driver.quit()
    return out


def main():
    plan = json.load(open(sys.argv[1]))
    shots = plan["screenshots"]
    os.makedirs(shots, exist_ok=True)
    os.makedirs(POLICY_DIR, exist_ok=True)
    policy = {"AutoSelectCertificateForUrls": [json.dumps({"pattern": "[*.]caduceus.test", "filter": {}})]}
    with open(POLICY_FILE, "w") as f:
        json.dump(policy, f)
    result = {"people": [], "probes": []}
    try:
        for person in plan["people"]:
            result["people"].append(walk(person, plan, shots))
        for p in plan.get("probes", []):
            # A probe may take the cookie and form token an earlier probe was given ("cookieFrom", "csrfFrom").
            for key, src in (("cookieFrom", "Cookie"),):
                if key in p:
                    prior = next(r for r in result["probes"] if r["name"] == p[key])
                    cookie = prior["headers"].get("Set-Cookie", "").split(";")[0]
                    p.setdefault("headers", {})[src] = cookie
            # A probe may take its path from a page a browser saw ("pathFrom": person, shot, the path's start and end).
            if "pathFrom" in p:
                src = p["pathFrom"]
                person = next(x for x in result["people"] if x["name"] == src["person"])
                page = next((r.get("source", "") for r in person["steps"] if r["step"].get("shot") == src["shot"]), "")
                start = page.find(src["start"])
                end = page.find(src["end"], start + len(src["start"])) if start >= 0 else -1
                p["path"] = page[start:end + len(src["end"])] if start >= 0 and end >= 0 else src["start"] + "missing" + src["end"]
            if "csrfFrom" in p:
                prior = next(r for r in result["probes"] if r["name"] == p["csrfFrom"])
                marker = 'name="csrf" value="'
                start = prior["body"].find(marker)
                token = prior["body"][start + len(marker):prior["body"].find('"', start + len(marker))] if start >= 0 else ""
                p["body"] = (p.get("body") or "") + "&csrf=" + token
            result["probes"].append(probe(p))
    finally:
        try:
            os.remove(POLICY_FILE)
        except OSError:
            pass
    json.dump(result, open(sys.argv[2], "w"), indent=1)


if __name__ == "__main__":
    main()
