package e2e_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/holdfast/holdfast/internal/testserver"
)

// chromiumPath finds the system Chromium (Debian's `chromium` package);
// nothing is downloaded. Under CI=true a missing browser fails the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HOLDFAST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install -y chromium); the console's browser test cannot run")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the console's browser test")
	return ""
}

// browserSession is one headless Chromium driven over the DevTools
// protocol, with every JavaScript error and every request recorded.
type browserSession struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string // directory for screenshots, "" for none

	mu      sync.Mutex
	jsErrs  []string
	foreign []string
}

func newBrowserSession(t *testing.T, base string) *browserSession {
	t.Helper()
	exe := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	b := &browserSession{t: t, ctx: ctx, base: base, shot: os.Getenv("HOLDFAST_CONSOLE_SCREENSHOTS")}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.jsErrs = append(b.jsErrs, (&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, fmt.Sprintf("%s", a.Value))
				}
				b.jsErrs = append(b.jsErrs, "console.error: "+strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			// Script errors and security (CSP) violations; an HTTP error
			// status of a page is the network's, and tests check it.
			if e.Entry.Level == cdplog.EntryLevelError && e.Entry.Source != cdplog.EntrySourceNetwork {
				b.jsErrs = append(b.jsErrs, string(e.Entry.Source)+": "+e.Entry.Text+" "+e.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			u := e.Request.URL
			if !strings.HasPrefix(u, base+"/") && u != base && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "about:") {
				b.foreign = append(b.foreign, u)
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

func (b *browserSession) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value.
func get[T any](b *browserSession, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// button selects the button whose text starts with label.
func button(label string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll("button")].filter(b => b.textContent.trim().startsWith(%q))`, label))
}

// open navigates to path and waits for its main landmark.
func (b *browserSession) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main#main")))
}

func (b *browserSession) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

func eval[T any](b *browserSession, js string) T {
	b.t.Helper()
	return get(b, "evaluate "+js, chromedp.Evaluate[T](js))
}

// submit fills fields (selector → value) of the form that holds button
// and clicks the button, then waits for the next page.
func (b *browserSession) submit(label string, fields map[string]string) {
	b.t.Helper()
	var acts []chromedp.Action[chromedp.Void]
	for sel, v := range fields {
		acts = append(acts, chromedp.SetValue(chromedp.CSS(sel), v))
	}
	before := eval[string](b, `location.href + "#" + performance.timeOrigin`)
	acts = append(acts, chromedp.Click(button(label), chromedp.NodeVisible))
	b.run("submit "+label, acts...)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		now, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState === "complete" && document.querySelector("main#main") ? location.href + "#" + performance.timeOrigin : ""`))
		if err == nil && now != "" && now != before {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("submit %s: no new page within 20s", label)
}

// screenshot saves the viewport as docs/console/<name>.png when
// HOLDFAST_CONSOLE_SCREENSHOTS names a directory.
func (b *browserSession) screenshot(name string) {
	b.t.Helper()
	if b.shot == "" {
		return
	}
	png := get(b, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// checkPage asserts what every console page owes screen readers and
// keyboard users: one h1, a main landmark, the navigation, a label on
// every field, and a focusable name on every button.
func (b *browserSession) checkPage(what string) {
	b.t.Helper()
	problems := eval[[]string](b, `(() => {
	  const out = [];
	  if (document.querySelectorAll("h1").length !== 1) out.push("want exactly one h1");
	  if (!document.querySelector("main")) out.push("no main landmark");
	  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
	    if (el.labels.length === 0 && !el.getAttribute("aria-label")) out.push("unlabelled field " + (el.name || el.id));
	  }
	  for (const el of document.querySelectorAll("button, a[href]")) {
	    if (el.tabIndex < 0 || el.disabled) out.push("not focusable: " + el.textContent.trim());
	    if (!el.textContent.trim() && !el.getAttribute("aria-label")) out.push("unnamed control " + el.outerHTML.slice(0, 80));
	  }
	  return out;
	})()`)
	if len(problems) > 0 {
		b.t.Errorf("%s: %s", what, strings.Join(problems, "; "))
	}
}

// tabReaches presses Tab from the top of the page until the element
// matching sel has focus, proving the keyboard alone reaches it.
func (b *browserSession) tabReaches(sel string) bool {
	b.t.Helper()
	eval[bool](b, `document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), true`)
	for range 200 {
		b.run("tab", chromedp.KeyEvent(kb.Tab))
		if eval[bool](b, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel)) {
			return true
		}
	}
	return false
}

func (b *browserSession) cookie() string {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base}})
	if err != nil {
		b.t.Fatalf("cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "holdfast_session" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				b.t.Errorf("session cookie HttpOnly=%v SameSite=%v, want HttpOnly and Strict", c.HTTPOnly, c.SameSite)
			}
			return c.Name + "=" + c.Value
		}
	}
	b.t.Fatal("no holdfast_session cookie after signing in")
	return ""
}

func (b *browserSession) signIn(token string) {
	b.t.Helper()
	b.open("/")
	if path := eval[string](b, `location.pathname`); path != "/signin" {
		b.t.Fatalf("signed-out / went to %s, want /signin", path)
	}
	b.checkPage("sign-in page")
	b.screenshot("signin")
	b.submit("Sign in", map[string]string{"#token": token})
	if h := b.text("h1"); h != "Overview" {
		b.t.Fatalf("after sign-in the page is %q, want Overview", h)
	}
}

// TestConsoleInChromium walks the console in a real headless Chromium
// against a real `holdfast serve`: sign in, hold a processing recording,
// export its case with a legal hold, download and verify the package,
// release the case, find every step in the Audit page, and check that a
// token without legalhold:release is offered the release disabled.
func TestConsoleInChromium(t *testing.T) {
	chromiumPath(t)
	t.Parallel()
	srv := testserver.StartProcess(t, "", "--faults", "processing_delay=25s")
	c := sdk(t, srv)
	ids := ingestAll(t, c, makeCalls(12, 3))
	b := newBrowserSession(t, srv.URL)
	b.signIn(testserver.AdminToken)
	b.checkPage("overview")
	if n := b.text(`[data-count="processing"]`); n != "3" {
		t.Errorf("Overview shows %s recordings processing, want 3", n)
	}

	// Find a processing recording and place a hold on it for a new case.
	b.open("/recordings?status=processing")
	b.checkPage("recordings")
	rec := eval[string](b, `document.querySelector("tr[data-recording]").dataset.recording`)
	if !contains(ids, rec) {
		t.Fatalf("processing recording %q is not one of ours %v", rec, ids)
	}
	b.open("/recordings/" + rec)
	b.checkPage("recording")
	if s := b.text(".state"); s != "processing" {
		t.Fatalf("recording %s shows state %q, want processing", rec, s)
	}
	const caseID = "LC-CONSOLE-1"
	b.submit("Place hold", map[string]string{`input[name="case_id"]`: caseID, `input[name="hold_reason"]`: "Discovery Request #12345"})
	if h := b.text("h1"); h != "Case "+caseID {
		t.Fatalf("after placing the hold the page is %q", h)
	}
	if f := b.text(".flash"); !strings.Contains(f, "placed on 1 recording") {
		t.Errorf("flash after the hold: %q", f)
	}
	b.open("/recordings")
	if !eval[bool](b, fmt.Sprintf(`!!document.querySelector('tr[data-recording=%q] [aria-label="Held"]')`, rec)) {
		t.Errorf("recording %s has no Held mark in the Recordings table", rec)
	}
	b.screenshot("recordings")
	b.open("/recordings/" + rec)
	b.screenshot("recording")

	// Export the case with a legal hold from its page; watch it reach 100%.
	b.open("/cases/" + caseID)
	b.checkPage("case")
	for _, label := range []string{"Media type", "From", "To", "Legal hold", "Case"} {
		if !eval[bool](b, fmt.Sprintf(`[...document.querySelectorAll('form[action$="/exports"] label')].some(l => l.textContent.trim() === %q && !!l.control)`, label)) {
			t.Errorf("export form has no field labelled %q", label)
		}
	}
	if !eval[bool](b, `document.querySelector("#exp-hold").checked`) {
		t.Fatal("Legal hold is not checked on the export form")
	}
	b.submit("Export", nil)
	path := eval[string](b, `location.pathname`)
	jobID := strings.TrimPrefix(path, "/exports/")
	if !strings.HasPrefix(jobID, "exp_") {
		t.Fatalf("after Export the page is %s", path)
	}
	b.checkPage("export")
	// While the export waits for the processing recording, the Overview
	// shows it running and both holds active.
	b.open("/")
	if n := b.text(`[data-count="active_holds"]`); n != "2" {
		t.Errorf("Overview shows %s active holds during the export, want 2", n)
	}
	b.screenshot("overview")
	b.open(path)
	seen := watchProgress(t, b)
	if seen[len(seen)-1] != 100 {
		t.Fatalf("export progress seen %v, never 100", seen)
	}
	if s := b.text(`[data-field="state"]`); s != "completed" {
		t.Fatalf("export state %q, want completed", s)
	}
	job, err := c.GetExport(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]int64{"matched": int64(job.Progress.Matched), "exported": int64(job.Progress.Exported),
		"pending": int64(job.Progress.Pending), "failed": int64(job.Progress.Failed), "bytes_exported": job.Progress.BytesExported} {
		if got := b.text(fmt.Sprintf(`[data-field=%q]`, field)); got != strconv.FormatInt(want, 10) {
			t.Errorf("export page %s = %s, API says %d", field, got, want)
		}
	}
	sum := b.text(`[data-field="tagmanifest_sha256"]`)
	if job.Package == nil || sum != job.Package.TagmanifestSHA256 {
		t.Fatalf("page tagmanifest SHA-256 %q, API package %+v", sum, job.Package)
	}
	if cmd := b.text(`[data-field="verify-command"]`); !strings.Contains(cmd, "holdfast verify --key key.pem "+job.Package.Name) {
		t.Errorf("verify command on the page: %q", cmd)
	}
	b.screenshot("export")

	// Download the package as the page links it and verify it offline.
	href := eval[string](b, `document.querySelector('a[download$=".tar"]').getAttribute("href")`)
	dir := t.TempDir()
	downloadAndExtract(t, srv.URL+href, b.cookie(), dir)
	keyPath := filepath.Join(dir, "key.pem")
	key := do(t, srv.URL, "", http.MethodGet, "/api/v2/signing-key", nil)
	if err := os.WriteFile(keyPath, key.Body, 0o644); err != nil {
		t.Fatal(err)
	}
	bag := filepath.Join(dir, job.Package.Name)
	tm, err := os.ReadFile(filepath.Join(bag, "tagmanifest-sha256.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(tm); hex.EncodeToString(h[:]) != sum {
		t.Errorf("downloaded tagmanifest-sha256.txt hashes to %x, the page says %s", h, sum)
	}
	if out, code := runCLI(t, "verify", "--key", keyPath, bag); code != 0 {
		t.Fatalf("holdfast verify exited %d:\n%s", code, out)
	}

	// Release the case.
	b.open("/cases/" + caseID)
	b.screenshot("case")
	b.submit("Release case", map[string]string{`input[name="release_reason"]`: "Matter settled"})
	if f := b.text(".flash"); !strings.Contains(f, "Released 2 hold(s) of "+caseID) {
		t.Errorf("flash after Release case: %q", f)
	}
	if n := b.text(`[data-count="active_holds"]`); n != "0" {
		t.Errorf("case page shows %s active holds after the release", n)
	}

	// Every step is in the Audit page, and the log verifies.
	b.open("/audit")
	b.checkPage("audit")
	for _, typ := range []string{"recording.ingested", "hold.applied", "export.created", "export.finished", "hold.released"} {
		if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll('tr[data-audit-type=%q]').length`, typ)); n == 0 {
			t.Errorf("Audit page shows no %s entry", typ)
		}
	}
	b.submit("Verify now", nil)
	if f := b.text(".flash"); !strings.HasPrefix(f, "Verified: all ") {
		t.Errorf("Verify now: %q", f)
	}
	b.screenshot("audit")
	for _, p := range []struct{ path, name string }{{"/", "overview-after"}, {"/cases", "cases"}, {"/exports", "exports"}} {
		b.open(p.path)
		b.checkPage(p.name)
		if p.name != "overview-after" {
			b.screenshot(p.name)
		}
	}

	// A token without legalhold:release is offered the release disabled,
	// can still reach it by keyboard, and the server refuses it anyway.
	limited, err := c.CreateToken(context.Background(), "paralegal", []string{"recording:view", "recording:export", "recording:export:legalhold", "audit:view"})
	if err != nil {
		t.Fatal(err)
	}
	b.submit("Sign out", nil)
	b.signIn(limited.Secret)
	b.open("/cases/" + caseID)
	const release = `form[action$="/release"] button`
	aria := get(b, "release button", chromedp.AttributeValue(chromedp.CSS(release), "aria-disabled")).Value
	label := get(b, "release button", chromedp.TextContent(chromedp.CSS(release)))
	if aria != "true" || !strings.Contains(label, "Release case") || !strings.Contains(label, "Requires legalhold:release") {
		t.Errorf("Release case for a token without legalhold:release: aria-disabled=%q text %q", aria, label)
	}
	if !b.tabReaches(release) {
		t.Error("the disabled Release case button cannot be reached with Tab")
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/cases/"+caseID+"/release", strings.NewReader("release_reason=sneaky"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	req.Header.Set("Cookie", b.cookie())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "legalhold:release") {
		t.Errorf("release posted by a token without legalhold:release: %d %s", res.StatusCode, body)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.jsErrs) > 0 {
		t.Errorf("the console logged JavaScript errors:\n%s", strings.Join(b.jsErrs, "\n"))
	}
	if len(b.foreign) > 0 {
		t.Errorf("the console made requests to other origins: %v", b.foreign)
	}
}

// watchProgress reads the live progress figure until the job is done and
// returns the percentages seen, which must never go down.
func watchProgress(t *testing.T, b *browserSession) []int {
	t.Helper()
	var seen []int
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		pct, state := b.textNoWait(`[data-field="percent"]`), b.textNoWait(`[data-field="state"]`)
		if pct != "" {
			n, _ := strconv.Atoi(strings.TrimSpace(pct))
			if len(seen) > 0 && n < seen[len(seen)-1] {
				t.Errorf("progress went back from %d%% to %d%%", seen[len(seen)-1], n)
			}
			if len(seen) == 0 || seen[len(seen)-1] != n {
				seen = append(seen, n)
			}
			// The page reloads itself once the job ends, to show the package.
			if n == 100 && strings.TrimSpace(state) == "completed" && b.textNoWait(`[data-field="tagmanifest_sha256"]`) != "" {
				return seen
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("export did not finish within 120s; progress seen %v", seen)
	return seen
}

func (b *browserSession) textNoWait(sel string) string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
	return s
}

// downloadAndExtract fetches the package tar with the browser's session
// cookie and unpacks it under dir.
func downloadAndExtract(t *testing.T, url, cookie, dir string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Cookie", cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/x-tar" {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("package download: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	tr := tar.NewReader(res.Body)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("tar entry %q escapes the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
