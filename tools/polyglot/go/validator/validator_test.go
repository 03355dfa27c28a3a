package validator

import (
	"errors"
	"testing"
)

type item struct {
	Name  *string `json:"Name,omitempty"`
	Code  string  `validate:"regexp=^[0-9]{5}$"`
	Extra map[string]interface{}
}

type count struct {
	TotalCount int32
}

func text(s string) *string { return &s }

func TestStructsWithoutTagsAreValid(t *testing.T) {
	if err := Validate(&count{TotalCount: 3}); err != nil {
		t.Fatal(err)
	}
}

// Debian's 2016 snapshot answers ErrUnsupported here; v2.0.1 walks the slice.
func TestPointersToSlicesOfStructsAreWalked(t *testing.T) {
	page := []item{{Name: text("a"), Code: "33602"}, {Code: "97205", Extra: map[string]interface{}{"x": 1}}}
	if err := Validate(&page); err != nil {
		t.Fatal(err)
	}
	empty := []item{}
	if err := Validate(&empty); err != nil {
		t.Fatal(err)
	}
	var none *[]item
	if err := Validate(none); err != nil {
		t.Fatal(err)
	}
}

func TestATagViolationInsideASliceIsReported(t *testing.T) {
	page := []item{{Code: "33602"}, {Code: "nope"}}
	err := Validate(&page)
	var found ErrorMap
	if !errors.As(err, &found) || len(found) != 1 || !errors.Is(found["[1].Code"][0], ErrRegexp) {
		t.Fatalf("got %v", err)
	}
}

func TestUnknownTagsAreErrors(t *testing.T) {
	type odd struct {
		A string `validate:"email"`
	}
	var found ErrorMap
	if err := Validate(odd{A: "x"}); !errors.As(err, &found) || !errors.Is(found["A"][0], ErrUnknownTag) {
		t.Fatalf("got %v", err)
	}
}

func TestEscapedCommasInAPattern(t *testing.T) {
	type comma struct {
		A string `validate:"regexp=^a\\,b$"`
	}
	if err := Validate(comma{A: "a,b"}); err != nil {
		t.Fatal(err)
	}
	var found ErrorMap
	if err := Validate(&comma{A: "ab"}); !errors.As(err, &found) || !errors.Is(found["A"][0], ErrRegexp) {
		t.Fatalf("got %v", err)
	}
}
