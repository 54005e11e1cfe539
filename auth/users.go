package auth

import (
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// User is one entry of a users file.
type User struct {
	Name           string         `yaml:"name"`
	PasswordBcrypt string         `yaml:"password_bcrypt"`
	Roles          []string       `yaml:"roles"`
	Claims         map[string]any `yaml:"claims"`
}

// Users checks passwords against a users file.
type Users struct {
	byName map[string]User
	dummy  []byte
}

// LoadUsers reads a YAML users file: users: [{name, password_bcrypt,
// roles, claims}].
func LoadUsers(file string) (*Users, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	return ParseUsers(b)
}

// ParseUsers parses the users file format.
func ParseUsers(data []byte) (*Users, error) {
	var f struct {
		Users []User `yaml:"users"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse users file: %w", err)
	}
	u := &Users{byName: map[string]User{}}
	for i, usr := range f.Users {
		if usr.Name == "" {
			return nil, fmt.Errorf("users file: entry %d has no name", i)
		}
		if _, dup := u.byName[usr.Name]; dup {
			return nil, fmt.Errorf("users file: user %q appears twice", usr.Name)
		}
		if _, err := bcrypt.Cost([]byte(usr.PasswordBcrypt)); err != nil {
			return nil, fmt.Errorf("users file: user %q: password_bcrypt: %w", usr.Name, err)
		}
		u.byName[usr.Name] = usr
		if u.dummy == nil {
			u.dummy = []byte(usr.PasswordBcrypt)
		}
	}
	return u, nil
}

// Check verifies name's password and returns the user's principal. An
// unknown user costs as much as a wrong password.
func (u *Users) Check(name, password string) (Principal, error) {
	usr, ok := u.byName[name]
	hash := []byte(usr.PasswordBcrypt)
	if !ok {
		hash = u.dummy
	}
	if hash == nil || bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !ok {
		return Principal{}, ErrBadPassword
	}
	claims := map[string]any{}
	for k, v := range usr.Claims {
		claims[k] = v
	}
	claims["sub"] = usr.Name
	return Principal{Subject: usr.Name, Roles: append([]string(nil), usr.Roles...), Claims: claims}, nil
}
