package org.openkcm.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The module map of docs/ARCHITECTURE.md as rules over the compiled main code of every module: the
 * contract ({@code protocol}) depends on no module of ours, what nodes share ({@code node-common})
 * on the contract only, the two planes do not reach into each other, and no package of ours is in a
 * dependency cycle.
 */
class ArchitectureTest {

  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .withImportOption(
              location -> !location.contains("-tests.jar") && !location.contains("/test-classes/"))
          .importPackages("org.openkcm");

  @Test
  void protocolDependsOnNoModuleOfOurs() {
    noClasses()
        .that()
        .resideInAPackage("org.openkcm.protocol..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.openkcm.node..",
            "org.openkcm.core..",
            "org.openkcm.gateway..",
            "org.openkcm.cli..",
            "org.openkcm.bench..",
            "org.openkcm.orbital..")
        .check(MAIN);
  }

  @Test
  void kmipDependsOnNoModuleOfOurs() {
    noClasses()
        .that()
        .resideInAPackage("org.openkcm.kmip..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.openkcm.protocol..",
            "org.openkcm.node..",
            "org.openkcm.core..",
            "org.openkcm.gateway..",
            "org.openkcm.cli..",
            "org.openkcm.orbital..")
        .check(MAIN);
  }

  @Test
  void whatNodesShareDependsOnTheContractOnly() {
    noClasses()
        .that()
        .resideInAPackage("org.openkcm.node..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.openkcm.core..",
            "org.openkcm.gateway..",
            "org.openkcm.cli..",
            "org.openkcm.bench..",
            "org.openkcm.orbital..")
        .check(MAIN);
  }

  @Test
  void theGatewayNeverImportsTheCoreAndTheCoreNeverImportsTheGateway() {
    noClasses()
        .that()
        .resideInAPackage("org.openkcm.gateway..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("org.openkcm.core..")
        .check(MAIN);
    noClasses()
        .that()
        .resideInAPackage("org.openkcm.core..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.openkcm.gateway..", "org.openkcm.cli..")
        .check(MAIN);
  }

  @Test
  void noPackageCycles() {
    slices().matching("org.openkcm.(*)..").should().beFreeOfCycles().check(MAIN);
    slices().matching("org.openkcm.core.(*)..").should().beFreeOfCycles().check(MAIN);
    slices().matching("org.openkcm.gateway.(*)..").should().beFreeOfCycles().check(MAIN);
    slices().matching("org.openkcm.protocol.(*)..").should().beFreeOfCycles().check(MAIN);
    slices().matching("org.openkcm.node.(*)..").should().beFreeOfCycles().check(MAIN);
    slices().matching("org.openkcm.kmip.(*)..").should().beFreeOfCycles().check(MAIN);
  }
}
