package fieldlog

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// installIDFile holds the install id inside the queue directory.
const installIDFile = "install_id"

// loadInstallID returns the install id kept in dir, creating it (a new
// UUID, written atomically) when there is none or it is unreadable.
func loadInstallID(dir string) (string, error) {
	path := filepath.Join(dir, installIDFile)
	if b, err := os.ReadFile(path); err == nil {
		if id, err := uuid.Parse(strings.TrimSpace(string(b))); err == nil {
			return id.String(), nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("fieldlog: read install id: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("fieldlog: %w", err)
	}
	id := uuid.NewString()
	tmp, err := os.CreateTemp(dir, installIDFile+".*")
	if err != nil {
		return "", fmt.Errorf("fieldlog: write install id: %w", err)
	}
	_, err = tmp.WriteString(id + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("fieldlog: write install id: %w", err)
	}
	return id, nil
}

// DeviceAlias returns the memorable three-word name of an install id, such
// as "calm-falcon-ridge": the same id always gives the same name, so
// support can say which machine without reading an id aloud.
func DeviceAlias(installID string) string {
	sum := sha256.Sum256([]byte(installID))
	pick := func(words []string, i int) string {
		return words[binary.BigEndian.Uint32(sum[4*i:])%uint32(len(words))]
	}
	return pick(aliasAdjectives, 0) + "-" + pick(aliasAnimals, 1) + "-" + pick(aliasPlaces, 2)
}

var (
	aliasAdjectives = strings.Fields(`amber bold brave bright brisk calm clever cool cosy crisp
		daring deep eager early fair fancy fast fine gentle glad golden grand green happy hardy
		honest jolly keen kind lively lucky merry mighty misty modest noble odd patient plain
		polite proud quick quiet rapid ready rosy royal rustic shiny silent silver simple sleek
		smooth snowy solid steady still sunny swift tidy tranquil vivid warm wild wise witty young`)
	aliasAnimals = strings.Fields(`badger bear beaver bison crane crow deer dolphin eagle egret
		falcon ferret finch fox gecko goose hare hawk heron ibis jackal jay koala lark lemur
		leopard lion lynx magpie marten mink mole moose newt orca otter owl panda parrot pelican
		puffin quail rabbit raven robin salmon seal shark sparrow stork swan tiger toucan trout
		turtle viper walrus weasel whale wolf wombat wren yak zebra`)
	aliasPlaces = strings.Fields(`bay beach bluff brook canyon cape cliff coast cove creek dale
		delta dune field fjord forest glade glen grove harbor heath hill island lagoon lake marsh
		meadow mesa moor oasis ocean park pass peak pine plain pond prairie reef ridge river
		shore slope spring stream summit tundra vale valley woods`)
)
