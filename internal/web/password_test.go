package web

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("hash %q is not argon2id PHC", h)
	}
	if !CheckPassword(h, "s3cret pass") {
		t.Error("the right password does not match")
	}
	if CheckPassword(h, "s3cret pas") || CheckPassword(h, "") {
		t.Error("a wrong password matches")
	}
	h2, _ := HashPassword("s3cret pass")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt?")
	}
	if err := checkPasswordHash(h); err != nil {
		t.Errorf("checkPasswordHash: %v", err)
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("empty password hashed")
	}
}

func TestCheckPasswordBcryptAndOthers(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(string(b), "hunter2") || CheckPassword(string(b), "hunter3") {
		t.Error("bcrypt")
	}
	// $2y$ (PHP's) is accepted as $2b$.
	y := "$2y$" + string(b)[4:]
	if !CheckPassword(y, "hunter2") {
		t.Error("$2y$ bcrypt")
	}
	// A known argon2id vector (made by the reference argon2 CLI:
	// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e).
	const ref = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	if !CheckPassword(ref, "password") {
		t.Error("reference argon2id hash does not match")
	}
	for _, bad := range []string{
		"", "password", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=16$m=65536,t=2,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=999999999,t=2,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=0,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=2,p=4$!!$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=2,p=4,x=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ",
		"$2b$04$short",
	} {
		if CheckPassword(bad, "password") {
			t.Errorf("malformed hash %q matched", bad)
		}
		if checkPasswordHash(bad) == nil {
			t.Errorf("checkPasswordHash(%q) accepted it", bad)
		}
	}
}

func TestNewRejectsBadHash(t *testing.T) {
	f := newFixture(t, "")
	cfg := Config{Store: f.store, Blob: f.blob, Signer: f.signer, PasswordHash: "plaintext"}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "callrec passwd") {
		t.Errorf("New with a plain-text password: %v", err)
	}
	cfg.PasswordHash = ""
	if _, err := New(cfg); err != nil {
		t.Errorf("New without a password: %v", err)
	}
	cfg.PublicURL = "calls.example.org"
	if _, err := New(cfg); err == nil {
		t.Error("New accepted a public URL without a scheme")
	}
	if _, err := New(Config{Blob: f.blob, Signer: f.signer}); err == nil {
		t.Error("New without a store")
	}
}
