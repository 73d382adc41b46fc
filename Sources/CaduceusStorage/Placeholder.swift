enum _PlaceholderCaduceusStorage {}
