"""Materials: uploaded files (films, audio, documents, images), stored once by content."""
