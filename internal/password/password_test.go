package password

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	h, err := Hash("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("hash %q is not argon2id PHC", h)
	}
	if !Check(h, "s3cret pass") {
		t.Error("the right password does not match")
	}
	if Check(h, "s3cret pas") || Check(h, "") {
		t.Error("a wrong password matches")
	}
	h2, _ := Hash("s3cret pass")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt?")
	}
	if err := CheckHash(h); err != nil {
		t.Errorf("CheckHash: %v", err)
	}
	if _, err := Hash(""); err == nil {
		t.Error("empty password hashed")
	}
}

func TestCheckPasswordBcryptAndOthers(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if !Check(string(b), "hunter2") || Check(string(b), "hunter3") {
		t.Error("bcrypt")
	}
	// $2y$ (PHP's) is accepted as $2b$.
	y := "$2y$" + string(b)[4:]
	if !Check(y, "hunter2") {
		t.Error("$2y$ bcrypt")
	}
	// A known argon2id vector (made by the reference argon2 CLI:
	// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e).
	const ref = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	if !Check(ref, "password") {
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
		if Check(bad, "password") {
			t.Errorf("malformed hash %q matched", bad)
		}
		if CheckHash(bad) == nil {
			t.Errorf("CheckHash(%q) accepted it", bad)
		}
	}
}
