package e2e

// The web side as a newcomer meets it: the first start prints a one-time
// set-up link, which opens the call browser once the password is chosen.

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFirstStartSetupLink(t *testing.T) {
	t.Parallel()
	webPort := freePorts(t, 1, true)
	site := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	cr := startCallrec(t, config{Web: fmt.Sprintf("public_url: %q\nweb:\n  listen: \"127.0.0.1:%d\"\n", site, webPort)})
	cr.waitLog(10*time.Second, "no owner password is set yet")
	linkRE := regexp.MustCompile(regexp.QuoteMeta(site) + `/setup\?token=[A-Za-z0-9_-]+`)
	// Once to the log and once, plainly, to the terminal: the same link.
	found := linkRE.FindAllString(cr.log.String(), -1)
	if len(found) != 2 || found[0] != found[1] {
		t.Fatalf("set-up links printed: %q, want the same one twice (log and terminal)\n%s", found, cr.log.String())
	}
	link := found[0]

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("set-up form: %d", res.StatusCode)
	}
	token := strings.TrimPrefix(link, site+"/setup?token=")
	post := func(pw string) *http.Response {
		req, _ := http.NewRequest("POST", site+"/setup", strings.NewReader(url.Values{"token": {token}, "password": {pw}, "confirm": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", site)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("newcomer's password"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("set-up: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = c.Get(site + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("call browser right after set-up: %d, want 200", res.StatusCode)
	}
	if res := post("another password"); res.StatusCode != http.StatusGone {
		t.Errorf("the link used again: %d, want 410", res.StatusCode)
	}

	// A restart prints no link: the password is kept, and logs in.
	cr.signal(syscall.SIGTERM)
	cr.waitExit(20 * time.Second)
	cr2 := cr.restart()
	cr2.waitLog(10*time.Second, "callrec serving")
	if strings.Contains(cr2.log.String(), "/setup?token=") {
		t.Errorf("a set-up link was printed with a password set:\n%s", cr2.log.String())
	}
	jar2, _ := cookiejar.New(nil)
	c2 := &http.Client{Jar: jar2, CheckRedirect: c.CheckRedirect}
	req, _ := http.NewRequest("POST", site+"/login", strings.NewReader(url.Values{"password": {"newcomer's password"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", site)
	res, err = c2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("log-in with the chosen password after a restart: %d", res.StatusCode)
	}
}
