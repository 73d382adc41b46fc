enum _PlaceholderCaduceusPatientIndex {}
